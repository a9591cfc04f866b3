import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { lazy } from "../lazy.js";
import { observability, withObservability } from "../observability.js";
import { InvalidInputError, parseSecretChange, type PropagationService, type PullkeeperConfig, sameSecret } from "@pullkeeper/core";

/**
 * A secret changed — our own Credential Rotated, a Secrets Manager API call or rotation seen
 * through CloudTrail, or the native Secret Label Updated — so plan deliveries for its registry.
 * The event only says *which* secret; the current version is looked up, never taken from it.
 */

export interface OnSecretChangeRuntime {
  readonly config: PullkeeperConfig;
  readonly service: PropagationService;
}

const telemetry = observability("pullkeeper-on-secret-change");
const { logger, metrics } = telemetry;

export function createOnSecretChangeHandler(runtime: () => Promise<OnSecretChangeRuntime>) {
  const ready = lazy(runtime);
  const onSecretChange = async (event: unknown) => {
    let result;
    try {
      result = parseSecretChange(event);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      // Retrying cannot mend a malformed event: reject it loudly, once, and deliver nothing.
      logger.error("malformed secret-change event rejected", { error: error.message });
      metrics.addMetric("MalformedEvents", MetricUnit.Count, 1);
      return { propagated: false, reason: error.message };
    }
    if (!result.changed) {
      logger.info("secret event ignored", { reason: result.reason, eventName: result.eventName, secretId: result.secretId });
      return { propagated: false, reason: result.reason };
    }
    const { config, service } = await ready();
    const change = result.change;
    const registry = config.registries.find((r) => sameSecret(r.secret, change.secretId));
    if (!registry) {
      logger.info("secret not tracked by any registry", { secretId: change.secretId, eventName: change.eventName });
      return { propagated: false, reason: `secret ${change.secretId} is not tracked` };
    }
    const plan = await service.propagate(registry.id);
    metrics.addMetric("DeliveriesRequested", MetricUnit.Count, plan.requested);
    logger.info("propagation planned", { eventName: change.eventName, ...plan });
    return { propagated: true, ...plan };
  };
  return withObservability(onSecretChange, telemetry);
}

