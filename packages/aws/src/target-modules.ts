import type { TargetModule, UndeclaredResourceSearch } from "@pullkeeper/core";
import { dockerConfigModule } from "@pullkeeper/targets/docker-config/module";
import { codespacesSecretModule, dependabotSecretModule, githubActionsSecretModule } from "@pullkeeper/targets/github/module";
import { gitpodSecretModule } from "@pullkeeper/targets/gitpod/module";
import { kubernetesSecretModule } from "@pullkeeper/targets/kubernetes/module";
import { webhookModule } from "@pullkeeper/targets/webhook/module";
import { codeBuildProjectModule } from "./consumers/codebuild/module.js";
import { ecsTaskDefinitionModule } from "./consumers/ecs/module.js";
import { ecrPullThroughCacheModule } from "./consumers/ecr-pull-through-cache/module.js";
import { secretsManagerCopyModule } from "./consumers/secrets-manager-copy/module.js";

/**
 * Every target kind this deployment knows, one line each: the one list the planners' schemas, the
 * delivery worker's targets, the default rate limits, the undeclared-consumer search and the
 * stacks' permissions derive from (docs/adding-a-target.md). Light on purpose: each module imports
 * only its schema and loads its target with import() when asked, so the stacks and the planners
 * can load this without the SDK, Octokit or Kubernetes clients.
 */
export const TARGET_MODULES: readonly TargetModule[] = [
  codeBuildProjectModule,
  ecsTaskDefinitionModule,
  secretsManagerCopyModule,
  ecrPullThroughCacheModule,
  codespacesSecretModule,
  githubActionsSecretModule,
  dependabotSecretModule,
  gitpodSecretModule,
  kubernetesSecretModule,
  dockerConfigModule,
  webhookModule,
];

/** The module of each kind, for lookups by a consumer's `target.kind`. */
export const TARGET_MODULES_BY_KIND: ReadonlyMap<string, TargetModule> = new Map(TARGET_MODULES.map((m) => [m.kind, m]));

/** Default write budgets per provider, in writes per second (the modules' defaultRateLimit); settings.rateLimits overrides them. */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, number>> = Object.fromEntries(
  TARGET_MODULES.flatMap((m) => (m.defaultRateLimit === undefined ? [] : [[m.provider, m.defaultRateLimit] as const])),
);

/** The regions a consumer's target names, as its module reads them (the undeclared-consumer search looks there). */
export function regionsNamed(target: { readonly kind: string } & Readonly<Record<string, unknown>>): (string | undefined)[] {
  return TARGET_MODULES_BY_KIND.get(target.kind)?.regionsNamed?.(target) ?? [];
}

/** The undeclared-consumer search's parts, one per kind that has one (loaded with their clients). */
export async function undeclaredSearches(): Promise<UndeclaredResourceSearch[]> {
  return Promise.all(TARGET_MODULES.flatMap((m) => (m.loadUndeclaredSearch ? [m.loadUndeclaredSearch()] : [])));
}
