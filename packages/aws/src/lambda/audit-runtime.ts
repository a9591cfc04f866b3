import type { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type AuditActions, AuditScanService, consumersFromConfig, type DeliveryTarget, DeliveryError, type PullkeeperConfig, systemClock } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { UndeclaredConsumerFinder, undeclaredSearchRegions } from "../consumers/index.js";
import { DynamoLedger } from "../dynamo-ledger.js";
import { EventBridgeBus } from "../eventbridge-bus.js";
import { SecretsManagerVault } from "../secrets-manager-vault.js";
import { required } from "./adapters.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";
import { plannerFromEnvironment } from "./planner-runtime.js";
import { deliveryTargets } from "./propagation-runtime.js";

let tracer: Tracer | undefined;

/** Targets whose discovery and restart read their own tokens (GitHub, Gitpod) from Secrets Manager. */
function targetsReadingSecretsManager(t: Tracer, config: PullkeeperConfig): Map<string, DeliveryTarget> {
  const vault = new SecretsManagerVault(t.captureAWSv3Client(new SecretsManagerClient(clientOptions())));
  return deliveryTargets({
    readCredential: async (id) => (await vault.read(id, { stage: "AWSCURRENT" })).credential,
    registrySecret: (id) => config.registries.find((r) => r.id === id)?.secret,
  });
}

/** The audit scan on AWS: the ledger table, pullkeeper's bus, and every target's discovery. */
export async function auditScanFromEnvironment(options: { readonly config?: PullkeeperConfig } = {}): Promise<AuditScanService> {
  tracer ??= observability("pullkeeper-audit-scan").tracer;
  const config = options.config ?? readConfigFile();
  const targets = targetsReadingSecretsManager(tracer, config);
  return new AuditScanService({
    registries: config.registries,
    consumers: consumersFromConfig(config, targets),
    targets,
    ledger: new DynamoLedger({ tableName: required("PULLKEEPER_TABLE"), client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())) }),
    bus: new EventBridgeBus({ busName: required("PULLKEEPER_BUS"), client: tracer.captureAWSv3Client(new EventBridgeClient(clientOptions())) }),
    clock: systemClock,
    clockSkewSeconds: config.settings.clockSkewSeconds,
    undeclared: new UndeclaredConsumerFinder({ regions: undeclaredSearchRegions(config) }),
  });
}

/** Starts a function without waiting for it (InvocationType Event): its failures go to its own failure queue. */
async function invokeAsync(lambda: LambdaClient, functionName: string, payload: unknown): Promise<void> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(payload)) }));
  if (out.StatusCode !== 202) throw new DeliveryError("unavailable", `${functionName} did not accept the invocation (HTTP ${out.StatusCode})`, { retryable: true });
}

const scheduledShape = (detail: Record<string, unknown>) => ({ version: "0", id: crypto.randomUUID(), "detail-type": "Scheduled Event", source: "aws.events", account: "000000000000", time: new Date().toISOString(), region: process.env.AWS_REGION ?? "us-east-1", resources: [], detail });

/**
 * What the audit API sets in motion on AWS: refresh and scans run in their own functions (invoked
 * asynchronously, so the API answers at once), redelivery plans through the queue, restart calls the target.
 */
export function auditActionsFromEnvironment(config: () => PullkeeperConfig = readConfigFile): AuditActions {
  tracer ??= observability("pullkeeper-api").tracer;
  const t = tracer;
  const lambda = t.captureAWSv3Client(new LambdaClient(clientOptions()));
  let targets: Map<string, DeliveryTarget> | undefined;
  return {
    refresh: async (registry, { force }) => {
      await invokeAsync(lambda, required("PULLKEEPER_REFRESH_FUNCTION"), scheduledShape({ registryIds: [registry.id], force }));
      return { outcome: "requested", registry: registry.id, force };
    },
    scan: async (registryIds) => {
      await invokeAsync(lambda, required("PULLKEEPER_AUDIT_SCAN_FUNCTION"), scheduledShape(registryIds ? { registryIds: [...registryIds] } : {}));
      return { outcome: "requested", registries: registryIds ?? "all" };
    },
    propagate: async (registry, { force }) => (await plannerFromEnvironment()).propagate(registry.id, { force }),
    redeliver: async (consumer) => (await plannerFromEnvironment()).propagate(consumer.registryId, { force: true, consumerIds: [consumer.id] }),
    restart: async (consumer, environment) => {
      targets ??= targetsReadingSecretsManager(t, config());
      const restart = targets.get(consumer.target.kind)?.restartEnvironment;
      if (!restart) throw new DeliveryError("restart_unsupported", `consumer ${consumer.id}: ${consumer.target.kind} environments cannot be restarted by pullkeeper`, { retryable: false });
      return restart.call(targets.get(consumer.target.kind), consumer, environment);
    },
  };
}
