import type { Tracer } from "@aws-lambda-powertools/tracer";
import {
  consumersFromConfig,
  type CredentialRevoker,
  htpasswdRevoker,
  isRotated,
  LedgerRepair,
  type PullkeeperConfig,
  type Registry,
  RevocationService,
  RollbackService,
  RotationService,
} from "@pullkeeper/core";
import { HtpasswdFile, RandomPasswords, RegistryV2Verifier } from "@pullkeeper/targets";
import { randomUUID } from "node:crypto";
import { awsAdapters } from "./adapters.js";
import { readConfigFile } from "./config-file.js";
import { deliveryTargets } from "./propagation-runtime.js";

export interface LifecycleRuntime {
  readonly config: PullkeeperConfig;
  readonly rotation: RotationService;
  readonly revocation: RevocationService;
  readonly rollback: RollbackService;
  readonly repair: LedgerRepair;
}

/**
 * A credential's life on AWS: rotation (the Secrets Manager rotation function), repair, revocation
 * and rollback over one set of adapters. htpasswd files live on the EFS file system the registry
 * shares with these functions; a source that cannot revoke has no revoker.
 */
export async function lifecycleFromEnvironment(tracer: Tracer, config: PullkeeperConfig = readConfigFile()): Promise<LifecycleRuntime> {
  const adapters = await awsAdapters(tracer);
  const verifier = new RegistryV2Verifier();
  // Only capabilities are read here (which kinds list environments): no target writes anything.
  const targets = deliveryTargets();
  const repair = new LedgerRepair({ ...adapters, verifier });
  // A registry the embedded runtime serves (source.serve) is not rotated on AWS: its file is not on EFS.
  const revoker = (registry: Registry): CredentialRevoker | undefined =>
    isRotated(registry) && registry.source.serve === undefined ? htpasswdRevoker(new HtpasswdFile(registry.source.file)) : undefined;
  const revocation = new RevocationService({
    ...adapters,
    registries: config.registries,
    consumers: consumersFromConfig(config, targets),
    targets,
    revoker,
    repair,
    clockSkewSeconds: config.settings.clockSkewSeconds,
  });
  const rotation = new RotationService({
    ...adapters,
    verifier,
    passwords: new RandomPasswords(),
    accounts: (registry) => new HtpasswdFile(registry.source.file),
    revocation,
    newToken: randomUUID,
  });
  const rollback = new RollbackService({ ...adapters, verifier, newToken: randomUUID });
  return { config, rotation, revocation, rollback, repair };
}
