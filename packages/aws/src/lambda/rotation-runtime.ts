import type { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { htpasswdSourceOf, type PullkeeperConfig, rateLimitFor, type RotationService } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { DynamoRateLimiter } from "../dynamo-rate-limiter.js";
import { awsServiceAdapters, required } from "./adapters.js";
import { readConfigFile } from "./config-file.js";
import { revocationService, rotationService, sourceRegistrySide } from "./wiring.js";

export interface RotationRuntime {
  readonly config: PullkeeperConfig;
  readonly rotation: RotationService;
}

/**
 * The rotated registries' side on AWS (an htpasswd registry's file is on the EFS file system it
 * shares with the functions). A registry the embedded runtime serves (source.serve) is not rotated
 * on AWS: its file is not on EFS, so it has no revoker here.
 */
export function awsRegistrySide(adapters: Parameters<typeof sourceRegistrySide>[0], tracer: Tracer, config: PullkeeperConfig) {
  return sourceRegistrySide(adapters, { revokes: (registry) => htpasswdSourceOf(registry)?.serve === undefined, limiter: providerLimiter(tracer, config) });
}

/**
 * The limiter the providers' API calls share with every other function (GCRA items in the ledger
 * table): a 429's Retry-After pauses the provider for all of them. Budgets come from
 * settings.rateLimits only: the target modules' defaults would bring their descriptors in.
 */
function providerLimiter(tracer: Tracer, config: PullkeeperConfig): DynamoRateLimiter {
  return new DynamoRateLimiter({
    tableName: required("PULLKEEPER_TABLE"),
    client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())),
    limits: (provider) => {
      const perSecond = rateLimitFor(provider, config.settings.rateLimits);
      return perSecond === undefined ? undefined : { perSecond };
    },
  });
}

/**
 * The Secrets Manager rotation function's service, without the delivery targets (and their
 * clients): a rotation that must free the idle user's slot (revoke.whenInUse: revoke) revokes at
 * once, which reads no consumer. The revoke schedule's check, which weighs the consumers, is
 * lifecycleFromEnvironment's.
 */
export async function rotationFromEnvironment(tracer: Tracer, config: PullkeeperConfig = readConfigFile()): Promise<RotationRuntime> {
  const adapters = await awsServiceAdapters(tracer);
  const registrySide = awsRegistrySide(adapters, tracer, config);
  const revocation = revocationService({ adapters, config, consumers: [], targets: new Map(), revoker: registrySide.revoker });
  const rotation = rotationService({
    adapters,
    registrySide,
    // Only revoke(): the consumers above are empty, so a check() here would decide wrongly.
    revocation: { revoke: (...args) => revocation.revoke(...args) },
  });
  return { config, rotation };
}
