import type { Tracer } from "@aws-lambda-powertools/tracer";
import { consumersFromConfig, LedgerRepair, type PullkeeperConfig, RevocationService, RollbackService } from "@pullkeeper/core";
import { RegistryV2Verifier } from "@pullkeeper/registry";
import { randomUUID } from "node:crypto";
import { awsAdapters } from "./adapters.js";
import { readConfigFile } from "./config-file.js";
import { deliveryTargets } from "./propagation-runtime.js";
import { awsRevoker } from "./rotation-runtime.js";

export interface LifecycleRuntime {
  readonly config: PullkeeperConfig;
  readonly revocation: RevocationService;
  readonly rollback: RollbackService;
  readonly repair: LedgerRepair;
}

/**
 * A credential's life on AWS after its rotation (rotationFromEnvironment): repair, revocation and
 * rollback over one set of adapters. htpasswd files live on the EFS file system the registry
 * shares with these functions; a source that cannot revoke has no revoker.
 */
export async function lifecycleFromEnvironment(tracer: Tracer, config: PullkeeperConfig = readConfigFile()): Promise<LifecycleRuntime> {
  const adapters = await awsAdapters(tracer);
  const verifier = new RegistryV2Verifier();
  // Only capabilities are read here (which kinds list environments): no target writes anything.
  const targets = await deliveryTargets();
  const repair = new LedgerRepair({ ...adapters, verifier });
  const revocation = new RevocationService({
    ...adapters,
    registries: config.registries,
    consumers: consumersFromConfig(config, targets),
    targets,
    revoker: awsRevoker,
    repair,
    clockSkewSeconds: config.settings.clockSkewSeconds,
  });
  const rollback = new RollbackService({ ...adapters, verifier, newToken: randomUUID });
  return { config, revocation, rollback, repair };
}
