import type { Tracer } from "@aws-lambda-powertools/tracer";
import { type CredentialRevoker, htpasswdRevoker, isRotated, type PullkeeperConfig, type Registry, RevocationService, RotationService } from "@pullkeeper/core";
import { HtpasswdFile, RandomPasswords, RegistryV2Verifier } from "@pullkeeper/registry";
import { randomUUID } from "node:crypto";
import { awsAdapters } from "./adapters.js";
import { readConfigFile } from "./config-file.js";

export interface RotationRuntime {
  readonly config: PullkeeperConfig;
  readonly rotation: RotationService;
}

/**
 * How a superseded credential is revoked on AWS: an htpasswd registry retires the previous user
 * in its file on the EFS file system the registry shares with the functions. A registry the
 * embedded runtime serves (source.serve) is not rotated on AWS: its file is not on EFS.
 */
export function awsRevoker(registry: Registry): CredentialRevoker | undefined {
  return isRotated(registry) && registry.source.serve === undefined ? htpasswdRevoker(new HtpasswdFile(registry.source.file)) : undefined;
}

/**
 * The Secrets Manager rotation function's service, without the delivery targets (and their
 * clients): a rotation that must free the idle user's slot (revoke.whenInUse: revoke) revokes at
 * once, which reads no consumer. The revoke schedule's check, which weighs the consumers, is
 * lifecycleFromEnvironment's.
 */
export async function rotationFromEnvironment(tracer: Tracer, config: PullkeeperConfig = readConfigFile()): Promise<RotationRuntime> {
  const adapters = await awsAdapters(tracer);
  const revocation = new RevocationService({ ...adapters, registries: config.registries, consumers: [], targets: new Map(), revoker: awsRevoker });
  const rotation = new RotationService({
    ...adapters,
    verifier: new RegistryV2Verifier(),
    passwords: new RandomPasswords(),
    accounts: (registry) => new HtpasswdFile(registry.source.file),
    // Only revoke(): the consumers above are empty, so a check() here would decide wrongly.
    revocation: { revoke: (...args) => revocation.revoke(...args) },
    newToken: randomUUID,
  });
  return { config, rotation };
}
