import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { lazy } from "../lazy.js";
import { observability, withObservability } from "../observability.js";
import { EventBridgeEnvelopeSchema, scheduledInvocationSchema, validateEvent } from "../validate-event.js";
import type { PropagationService } from "@pullkeeper/core";

/**
 * Scheduled reconcile: EventBridge delivery is best effort, so every consumer's delivered
 * version is compared with the current one and whatever is behind is queued again — also a
 * consumer that failed for good once its backoff is over (1 h, doubling, at most 24 h), and a
 * pending or retrying one whose message was lost.
 */

/** The reconcile schedule's input (EventBridge Scheduler) or an EventBridge envelope; either way a full run. */
export const ReconcileEventSchema = scheduledInvocationSchema("reconcile", EventBridgeEnvelopeSchema);

const telemetry = observability("pullkeeper-reconcile");
const { logger, metrics } = telemetry;

export function createReconcileHandler(runtime: () => Promise<PropagationService>) {
  const ready = lazy(runtime);
  const reconcile = async () => {
    const results = await (await ready()).reconcile();
    const requested = results.reduce((n, r) => n + r.requested, 0);
    metrics.addMetric("ReconcileRequested", MetricUnit.Count, requested);
    for (const r of results) {
      if (r.reason?.startsWith("failed")) logger.error("reconcile failed for a registry", { registryId: r.registryId, reason: r.reason });
      // What is still not done after this run: failed-for-good consumers wait for their backoff, retrying ones for their next attempt.
      else if (r.requested > 0 || (r.standing?.failed ?? 0) > 0 || (r.standing?.retrying ?? 0) > 0) {
        logger.info("registry reconciled", { registryId: r.registryId, versionId: r.versionId, requested: r.requested, failed: r.standing?.failed ?? 0, retrying: r.standing?.retrying ?? 0, reason: r.reason });
      }
    }
    logger.info("reconcile finished", { registries: results.length, requested });
    return results;
  };
  return withObservability(reconcile, telemetry)
    .use(validateEvent(ReconcileEventSchema, "reconcile event"));
}

