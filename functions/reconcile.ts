import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import { lazy, observability, plannerFromEnvironment, validateEvent } from "@pullkeeper/aws/lambda";
import type { PropagationService } from "@pullkeeper/core";

/**
 * Scheduled reconcile: EventBridge delivery is best effort, so every consumer's delivered
 * version is compared with the current one and whatever is behind is queued again.
 */

const { logger, metrics, tracer } = observability("pullkeeper-reconcile");

export function createReconcileHandler(runtime: () => Promise<PropagationService>) {
  const ready = lazy(runtime);
  const reconcile = async () => {
    const results = await (await ready()).reconcile();
    const requested = results.reduce((n, r) => n + r.requested, 0);
    metrics.addMetric("ReconcileRequested", MetricUnit.Count, requested);
    for (const r of results) if (r.reason?.startsWith("failed")) logger.error("reconcile failed for a registry", { ...r });
    logger.info("reconcile finished", { registries: results.length, requested });
    return results;
  };
  return middy(reconcile)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(logMetrics(metrics))
    .use(validateEvent(EventBridgeSchema, "reconcile event"));
}

export const handler = createReconcileHandler(plannerFromEnvironment);
