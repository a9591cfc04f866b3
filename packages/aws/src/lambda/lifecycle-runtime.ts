import type { FunctionTracer } from "./observability.js";
import { consumersFromConfig, type LedgerRepair, type PullkeeperConfig, type RevocationService, type RollbackService } from "@pullkeeper/core";
import { awsServiceAdapters } from "./adapters.js";
import { readConfigFile } from "./config-file.js";
import { CONSUMER_SCHEMAS } from "./consumer-schemas.js";
import { configuredKinds, deliveryTargets } from "./propagation-runtime.js";
import { awsRegistrySide } from "./rotation-runtime.js";
import { ledgerRepair, revocationService, rollbackService } from "./wiring.js";

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
export async function lifecycleFromEnvironment(tracer: FunctionTracer, config: PullkeeperConfig = readConfigFile()): Promise<LifecycleRuntime> {
  const adapters = await awsServiceAdapters(tracer);
  // Only capabilities are read here (which kinds list environments): no target writes anything.
  const targets = await deliveryTargets({ kinds: configuredKinds(config) });
  const repair = ledgerRepair(adapters);
  const revocation = revocationService({ adapters, config, consumers: consumersFromConfig(config, CONSUMER_SCHEMAS), targets, revoker: awsRegistrySide(adapters, tracer, config).revoker, repair });
  const rollback = rollbackService(adapters);
  return { config, revocation, rollback, repair };
}
