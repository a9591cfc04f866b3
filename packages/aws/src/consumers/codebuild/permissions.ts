import type { DeployLocation, PermissionConsumer, TargetPermissions } from "@pullkeeper/core";
import { parseArn } from "../shared/arn.js";
import { permissionTarget, simulateRoles, unique } from "../shared/permissions.js";
import { codeBuildProjectTargetSchema } from "./schema.js";

/** The projects, as delivery addresses them: an ARN as it is, a name in the consumer's region (else its fallback) of the deploy account. */
function projects(consumers: readonly PermissionConsumer[], at: DeployLocation) {
  const all: string[] = [];
  const fixed: string[] = [];
  for (const consumer of consumers) {
    const target = permissionTarget(codeBuildProjectTargetSchema, consumer);
    const arn = parseArn(target.project) ? target.project : `arn:${at.partition}:codebuild:${target.region ?? consumer.fallbackRegion}:${at.account}:project/${target.project}`;
    all.push(arn);
    if (target.fixWiring) fixed.push(arn);
  }
  return { all: unique(all), fixed: unique(fixed) };
}

/**
 * - deliver: BatchGetProjects on each project; UpdateProject only where `fixWiring`; and the check
 *   that the project's service role may read the secret (simulateRoles);
 * - audit-scan: ListBuildsForProject and BatchGetBuilds on exactly the projects;
 * - the undeclared-consumer search: projects that reference a registry's secret but are not in the
 *   config are by definition named nowhere, so it lists them all (ListProjects has no
 *   resource-level permission) and reads the projects of the deploy account (`project/*`, any region).
 */
export const codeBuildProjectPermissions: TargetPermissions = {
  deliver: (consumers, at) => {
    const p = projects(consumers, at);
    return [
      { actions: ["codebuild:BatchGetProjects"], resources: p.all },
      ...(p.fixed.length > 0 ? [{ actions: ["codebuild:UpdateProject"], resources: p.fixed }] : []),
      simulateRoles(at),
    ];
  },
  discover: (consumers, at) => [{ actions: ["codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds"], resources: projects(consumers, at).all }],
  undeclaredSearch: (at) => [
    { actions: ["codebuild:ListProjects"], resources: ["*"] },
    { actions: ["codebuild:BatchGetProjects"], resources: [`arn:${at.partition}:codebuild:*:${at.account}:project/*`] },
  ],
};
