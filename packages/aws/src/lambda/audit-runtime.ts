import type { FunctionTracer } from "./observability.js";
import { type AuditScanService, consumersFromConfig, type PullkeeperConfig } from "@pullkeeper/core";
import { UndeclaredConsumerFinder, undeclaredSearchRegions } from "../consumers/index.js";
import { regionsNamed, undeclaredSearches } from "../target-modules.js";
import { awsStores } from "./adapters.js";
import { targetsReadingSecretsManager } from "./audit-targets.js";
import { CONSUMER_SCHEMAS } from "./consumer-schemas.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";
import { auditScanService } from "./wiring.js";

let tracer: FunctionTracer | undefined;

/** The audit scan on AWS: the ledger table, pullkeeper's bus, the configured targets' discovery and the undeclared-consumer search. */
export async function auditScanFromEnvironment(options: { readonly config?: PullkeeperConfig } = {}): Promise<AuditScanService> {
  tracer ??= observability("pullkeeper-audit-scan").tracer;
  const config = options.config ?? readConfigFile();
  const targets = await targetsReadingSecretsManager(tracer, config);
  const consumers = consumersFromConfig(config, CONSUMER_SCHEMAS);
  return auditScanService({
    adapters: awsStores(tracer),
    config,
    consumers,
    targets,
    undeclared: new UndeclaredConsumerFinder({ regions: undeclaredSearchRegions(config, regionsNamed), searches: undeclaredSearches }),
  });
}
