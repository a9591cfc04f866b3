import { MetricUnit } from "@aws-lambda-powertools/metrics";
// Module by module, not the lambda index: that reaches the delivery targets' clients.
import { lazy } from "../lazy.js";
import { observability, withObservability } from "../observability.js";
import { rotationFromEnvironment } from "../rotation-runtime.js";
import { validateEvent } from "../validate-event.js";
import { InvalidInputError, isRotated, type PullkeeperConfig, ROTATION_STEPS, RotationService, type RotatedRegistry, sameSecret, whenUnlocked } from "@pullkeeper/core";
import * as z from "zod";

/**
 * The Secrets Manager rotation-Lambda protocol for registries whose password pullkeeper mints
 * (htpasswd first): one step per invocation, as Secrets Manager calls it.
 */

// Unknown keys are allowed: Secrets Manager has added fields (RotationToken) before.
export const RotationEventSchema = z.looseObject({
  SecretId: z.string().min(1),
  ClientRequestToken: z.string().min(32).max(64),
  Step: z.enum(ROTATION_STEPS),
  RotationToken: z.string().optional(),
});
export type RotationEvent = z.infer<typeof RotationEventSchema>;

export interface RotateRuntime {
  readonly config: PullkeeperConfig;
  readonly service: RotationService;
}

const telemetry = observability("pullkeeper-rotate");
const { logger, metrics, tracer } = telemetry;

export async function runtimeFromEnvironment(): Promise<RotateRuntime> {
  // On AWS the htpasswd file is on a file system the registry shares with this function (EFS).
  const { config, rotation } = await rotationFromEnvironment(tracer);
  return { config, service: rotation };
}

export function registryForSecret(config: PullkeeperConfig, secretId: string): RotatedRegistry {
  const registry = config.registries.find((r) => sameSecret(r.secret, secretId));
  if (!registry) throw new InvalidInputError(`no registry in the config uses secret ${secretId}`);
  if (!isRotated(registry)) throw new InvalidInputError(`registry ${registry.id} has source ${registry.source.type}; pullkeeper rotates only htpasswd registries`);
  return registry;
}

export function createRotateHandler(runtime: () => Promise<RotateRuntime>) {
  const ready = lazy(runtime);
  const rotate = async (raw: unknown) => {
    const event = raw as RotationEvent;
    const { config, service } = await ready();
    const registry = registryForSecret(config, event.SecretId);
    logger.appendKeys({ registryId: registry.id, step: event.Step, versionId: event.ClientRequestToken });
    // A revocation check holds the registry's lock for a moment: wait for it instead of failing the rotation.
    await whenUnlocked(() => service.step(event.Step, registry, event.ClientRequestToken, event.RotationToken === undefined ? {} : { rotationToken: event.RotationToken }));
    metrics.addMetric("RotationStepsCompleted", MetricUnit.Count, 1);
    logger.info("rotation step done");
  };
  return withObservability(rotate, telemetry)
    .use(validateEvent(RotationEventSchema, "rotation event"));
}

