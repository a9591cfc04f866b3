import type { DeliveryTarget } from "@pullkeeper/core";
import {
  codespacesSecretTargetSchema,
  dependabotSecretTargetSchema,
  dockerConfigTargetSchema,
  githubActionsSecretTargetSchema,
  gitpodSecretTargetSchema,
  kubernetesSecretTargetSchema,
  webhookTargetSchema,
} from "@pullkeeper/targets";
import { codeBuildProjectTargetSchema } from "../consumers/codebuild/schema.js";
import { ecsTaskDefinitionTargetSchema } from "../consumers/ecs/schema.js";

/**
 * Every consumer kind's config schema, without the targets' clients: what the planners
 * (on-secret-change, reconcile) need to validate consumers, at a fraction of the worker's bundle.
 * A test checks it names the same kinds and schemas as deliveryTargets().
 */
export const CONSUMER_SCHEMAS: ReadonlyMap<string, Pick<DeliveryTarget, "schema">> = new Map(
  (
    [
      ["codebuild-project", codeBuildProjectTargetSchema],
      ["ecs-task-definition", ecsTaskDefinitionTargetSchema],
      ["codespaces-secret", codespacesSecretTargetSchema],
      ["github-actions-secret", githubActionsSecretTargetSchema],
      ["dependabot-secret", dependabotSecretTargetSchema],
      ["gitpod-secret", gitpodSecretTargetSchema],
      ["kubernetes-secret", kubernetesSecretTargetSchema],
      ["docker-config", dockerConfigTargetSchema],
      ["webhook", webhookTargetSchema],
    ] as const
  ).map(([kind, schema]) => [kind, { schema: schema as DeliveryTarget["schema"] }]),
);
