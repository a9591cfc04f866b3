import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { type RollbackAnswer, rotatedBySecretsManager } from "../audit-actions.js";
import { lazy } from "../lazy.js";
import { lifecycleFromEnvironment } from "../lifecycle-runtime.js";
import { observability, withObservability } from "../observability.js";
import { EventBridgeEnvelopeSchema, scheduledInvocationSchema, validateEvent } from "../validate-event.js";
import { InvalidInputError, PullkeeperError, type Registry, type RevocationService, type RollbackService } from "@pullkeeper/core";
import * as z from "zod";

/**
 * Revocation, on its own schedule (settings.revokeSchedule; the schedule's EventBridge Scheduler
 * input, or an EventBridge envelope): for every registry whose source can
 * revoke, first close any vault/ledger gap a crash left, then revoke the previous credential if
 * nothing uses it any more or its maximum overlap has passed; otherwise record why it waits.
 *
 * Rollback, on demand: the audit API (POST /v1/registries/{id}/rollback) invokes this function
 * synchronously with `detail: { rollback: "<registryId>" }`, because it runs in the registry's VPC
 * with the htpasswd file's EFS mount and can check against a private registry that the previous
 * credential still opens it. It answers the RollbackResult, or a refusal as data
 * (`{ error: { code, message } }`) that the API raises again as the same error.
 */

export const RevokeEventSchema = scheduledInvocationSchema(
  "revoke",
  EventBridgeEnvelopeSchema.extend({
    detail: z.union([z.strictObject({ registryIds: z.array(z.string().min(1)).min(1).optional() }), z.strictObject({ rollback: z.string().min(1) })]),
  }),
);
export type RevokeEvent = z.infer<typeof RevokeEventSchema>;

/** What a rollback needs: the configured registries and the lifecycle's RollbackService. */
export interface RollbackRuntime {
  readonly registries: readonly Registry[];
  readonly rollback: Pick<RollbackService, "rollback">;
}

const telemetry = observability("pullkeeper-revoke");
const { logger, metrics, tracer } = telemetry;

export function createRevokeHandler(runtime: () => Promise<RevocationService>, rollbackRuntime?: () => Promise<RollbackRuntime>) {
  const ready = lazy(runtime);
  const rollbackReady = rollbackRuntime && lazy(rollbackRuntime);

  const rollback = async (registryId: string): Promise<RollbackAnswer> => {
    logger.appendKeys({ registryId, action: "rollback" });
    try {
      if (!rollbackReady) throw new PullkeeperError("not_implemented", "rollback is not wired in this revoke function");
      const { registries, rollback: service } = await rollbackReady();
      const registry = registries.find((r) => r.id === registryId);
      if (!registry) throw new InvalidInputError(`registry ${registryId}: not in the config`);
      // This function's role may write only the secrets Secrets Manager rotates on AWS (stacks/rotation-permissions.ts).
      if (!rotatedBySecretsManager(registry)) throw new PullkeeperError("rollback_unsupported", `registry ${registryId}: this function rolls back only the htpasswd registries Secrets Manager rotates (source ${registry.source.type})`);
      const result = await service.rollback(registry);
      metrics.addMetric("CredentialsRolledBack", MetricUnit.Count, 1);
      logger.info("rolled back", { versionId: result.versionId, restoredVersionId: result.restoredVersionId, fromVersionId: result.fromVersionId });
      return result;
    } catch (error) {
      // A refusal goes back to the caller as data; anything else fails the invocation (and is logged by Lambda).
      if (!(error instanceof PullkeeperError)) throw error;
      metrics.addMetric("RollbacksRefused", MetricUnit.Count, 1);
      // `reason`, not `message`: the logger drops reserved keys from extra fields.
      logger.warn("rollback refused", { errorCode: error.code, reason: error.message });
      return { error: { code: error.code, message: error.message } };
    }
  };

  const revoke = async (raw: unknown) => {
    const event = raw as RevokeEvent;
    if ("rollback" in event.detail) return rollback(event.detail.rollback);
    const results = await (await ready()).run(event.detail.registryIds);
    for (const r of results) {
      if (r.outcome === "revoked") {
        metrics.addMetric("CredentialsRevoked", MetricUnit.Count, 1);
        logger.info("previous credential revoked", { registryId: r.registryId, versionId: r.versionId, reason: r.reason, detail: r.detail });
      } else if (r.outcome === "waiting") {
        logger.info("previous credential kept", { registryId: r.registryId, versionId: r.versionId, reason: r.reason, overlapEndsAt: r.overlapEndsAt.toISOString() });
      } else if (r.outcome === "busy") {
        logger.info("revocation check deferred: the registry is being rotated or rolled back", { registryId: r.registryId });
      } else if (r.outcome === "failed") {
        metrics.addMetric("RevocationFailures", MetricUnit.Count, 1);
        // `reason`, not `message`: the logger drops reserved keys from extra fields.
        logger.error("revocation check failed", { registryId: r.registryId, errorCode: r.code, reason: r.message });
      }
    }
    metrics.addMetric("CredentialsAwaitingRevocation", MetricUnit.Count, results.filter((r) => r.outcome === "waiting").length);
    return { results };
  };
  return withObservability(revoke, telemetry)
    .use(validateEvent(RevokeEventSchema, "revoke event"));
}

/** The revocation and the rollback from the environment the stack sets: one lifecycle for both, they share the adapters. */
export function revokeRuntimesFromEnvironment(): [() => Promise<RevocationService>, () => Promise<RollbackRuntime>] {
  const lifecycle = lazy(() => lifecycleFromEnvironment(tracer));
  return [
    async () => (await lifecycle()).revocation,
    async () => {
      const { config, rollback } = await lifecycle();
      return { registries: config.registries, rollback };
    },
  ];
}
