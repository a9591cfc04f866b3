import type { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { AuditScanService, consumersFromConfig, type PullkeeperConfig, systemClock } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { UndeclaredConsumerFinder, undeclaredSearchRegions } from "../consumers/index.js";
import { DynamoLedger } from "../dynamo-ledger.js";
import { EventBridgeBus } from "../eventbridge-bus.js";
import { regionsNamed, undeclaredSearches } from "../target-modules.js";
import { required } from "./adapters.js";
import { targetsReadingSecretsManager } from "./audit-targets.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";

let tracer: Tracer | undefined;

/** The audit scan on AWS: the ledger table, pullkeeper's bus, every target's discovery and the undeclared-consumer search. */
export async function auditScanFromEnvironment(options: { readonly config?: PullkeeperConfig } = {}): Promise<AuditScanService> {
  tracer ??= observability("pullkeeper-audit-scan").tracer;
  const config = options.config ?? readConfigFile();
  const targets = await targetsReadingSecretsManager(tracer, config);
  return new AuditScanService({
    registries: config.registries,
    consumers: consumersFromConfig(config, targets),
    targets,
    ledger: new DynamoLedger({ tableName: required("PULLKEEPER_TABLE"), client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())) }),
    bus: new EventBridgeBus({ busName: required("PULLKEEPER_BUS"), client: tracer.captureAWSv3Client(new EventBridgeClient(clientOptions())) }),
    clock: systemClock,
    clockSkewSeconds: config.settings.clockSkewSeconds,
    undeclared: new UndeclaredConsumerFinder({ regions: undeclaredSearchRegions(config, regionsNamed), searches: undeclaredSearches }),
  });
}
