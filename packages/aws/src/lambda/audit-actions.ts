import type { Tracer } from "@aws-lambda-powertools/tracer";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { type AuditActions, type DeliveryTarget, DeliveryError, type PullkeeperConfig } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { required } from "./adapters.js";
import { targetsReadingSecretsManager } from "./audit-targets.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";
import { plannerFromEnvironment } from "./planner-runtime.js";

let tracer: Tracer | undefined;

/** Starts a function without waiting for it (InvocationType Event): its failures go to its own failure queue. */
async function invokeAsync(lambda: LambdaClient, functionName: string, payload: unknown): Promise<void> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(payload)) }));
  if (out.StatusCode !== 202) throw new DeliveryError("unavailable", `${functionName} did not accept the invocation (HTTP ${out.StatusCode})`, { retryable: true });
}

const scheduledShape = (detail: Record<string, unknown>) => ({ version: "0", id: crypto.randomUUID(), "detail-type": "Scheduled Event", source: "aws.events", account: "000000000000", time: new Date().toISOString(), region: process.env.AWS_REGION ?? "us-east-1", resources: [], detail });

/**
 * What the audit API sets in motion on AWS: refresh and scans run in their own functions (invoked
 * asynchronously, so the API answers at once), propagation plans through the queue, restart calls
 * the target (built on the first restart).
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
      const target = targets.get(consumer.target.kind);
      if (!target?.restartEnvironment) throw new DeliveryError("restart_unsupported", `consumer ${consumer.id}: ${consumer.target.kind} environments cannot be restarted by pullkeeper`, { retryable: false });
      return target.restartEnvironment(consumer, environment);
    },
  };
}
