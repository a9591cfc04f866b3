import type { FunctionTracer } from "./observability.js";
import { htpasswdSourceOf, type PullkeeperConfig, type RotationService } from "@pullkeeper/core";
import { awsServiceAdapters } from "./adapters.js";
import { providerLimiter } from "./provider-limiter.js";
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
export function awsRegistrySide(adapters: Parameters<typeof sourceRegistrySide>[0], tracer: FunctionTracer, config: PullkeeperConfig) {
  return sourceRegistrySide(adapters, { revokes: (registry) => htpasswdSourceOf(registry)?.serve === undefined, limiter: providerLimiter(tracer, config) });
}


/**
 * The Secrets Manager rotation function's service, without the delivery targets (and their
 * clients): a rotation that must free the idle user's slot (revoke.whenInUse: revoke) revokes at
 * once, which reads no consumer. The revoke schedule's check, which weighs the consumers, is
 * lifecycleFromEnvironment's.
 */
export async function rotationFromEnvironment(tracer: FunctionTracer, config: PullkeeperConfig = readConfigFile()): Promise<RotationRuntime> {
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
