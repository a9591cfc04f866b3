import type { Tracer } from "@aws-lambda-powertools/tracer";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { type AuditActions, type DeliveryTarget, DeliveryError, type PullkeeperConfig, restartThroughTarget } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { required } from "./adapters.js";
import { targetsReadingSecretsManager } from "./audit-targets.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";
import { plannerFromEnvironment } from "./planner-runtime.js";
import { scheduledEvent } from "./scheduled-event.js";

let tracer: Tracer | undefined;

/** Starts a function without waiting for it (InvocationType Event): its failures go to its own failure queue. */
async function invokeAsync(lambda: LambdaClient, functionName: string, payload: unknown): Promise<void> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(payload)) }));
  if (out.StatusCode !== 202) throw new DeliveryError("unavailable", `${functionName} did not accept the invocation (HTTP ${out.StatusCode})`, { retryable: true });
}

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
      await invokeAsync(lambda, required("PULLKEEPER_REFRESH_FUNCTION"), scheduledEvent({ registryIds: [registry.id], force }));
      return { outcome: "requested", registry: registry.id, force };
    },
    scan: async (registryIds) => {
      await invokeAsync(lambda, required("PULLKEEPER_AUDIT_SCAN_FUNCTION"), scheduledEvent(registryIds ? { registryIds: [...registryIds] } : {}));
      return { outcome: "requested", registries: registryIds ?? "all" };
    },
    propagate: async (registry, { force }) => (await plannerFromEnvironment()).propagate(registry.id, { force }),
    redeliver: async (consumer) => (await plannerFromEnvironment()).propagate(consumer.registryId, { force: true, consumerIds: [consumer.id] }),
    restart: (consumer, environment) => {
      targets ??= targetsReadingSecretsManager(t, config());
      return restartThroughTarget(targets, consumer, environment);
    },
  };
}
