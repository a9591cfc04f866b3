import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import { lazy, lifecycleFromEnvironment, observability, validateEvent } from "@pullkeeper/aws/lambda";
import type { RevocationService } from "@pullkeeper/core";
import { z } from "zod";

/**
 * Revocation, on its own schedule (settings.revokeSchedule): for every registry whose source can
 * revoke, first close any vault/ledger gap a crash left, then revoke the previous credential if
 * nothing uses it any more or its maximum overlap has passed; otherwise record why it waits.
 */

export const RevokeEventSchema = EventBridgeSchema.extend({
  detail: z.strictObject({ registryIds: z.array(z.string().min(1)).min(1).optional() }),
});
export type RevokeEvent = z.infer<typeof RevokeEventSchema>;

const { logger, metrics, tracer } = observability("pullkeeper-revoke");

export function createRevokeHandler(runtime: () => Promise<RevocationService>) {
  const ready = lazy(runtime);
  const revoke = async (raw: unknown) => {
    const event = raw as RevokeEvent;
    const results = await (await ready()).run(event.detail.registryIds);
    for (const r of results) {
      if (r.outcome === "revoked") {
        metrics.addMetric("CredentialsRevoked", MetricUnit.Count, 1);
        logger.info("previous credential revoked", { registryId: r.registryId, versionId: r.versionId, reason: r.reason, detail: r.detail });
      } else if (r.outcome === "waiting") {
        logger.info("previous credential kept", { registryId: r.registryId, versionId: r.versionId, reason: r.reason, overlapEndsAt: r.overlapEndsAt.toISOString() });
      } else if (r.outcome === "failed") {
        metrics.addMetric("RevocationFailures", MetricUnit.Count, 1);
        // `reason`, not `message`: the logger drops reserved keys from extra fields.
        logger.error("revocation check failed", { registryId: r.registryId, errorCode: r.code, reason: r.message });
      }
    }
    metrics.addMetric("CredentialsAwaitingRevocation", MetricUnit.Count, results.filter((r) => r.outcome === "waiting").length);
    return { results };
  };
  return middy(revoke)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(logMetrics(metrics))
    .use(validateEvent(RevokeEventSchema, "revoke event"));
}

export const handler = createRevokeHandler(async () => (await lifecycleFromEnvironment(tracer)).revocation);
