import type { DeployLocation, IamCondition, PermissionConsumer, TargetPermissions } from "@pullkeeper/core";
import { parseArn } from "../shared/arn.js";
import { permissionTarget, simulateRoles, unique } from "../shared/permissions.js";
import { ecsTaskDefinitionTargetSchema } from "./schema.js";

/** The services rollServices names and their clusters, as ARNs; and the regions the consumers live in. */
function resources(consumers: readonly PermissionConsumer[], at: DeployLocation) {
  const services: string[] = [];
  const clusters: string[] = [];
  const regions: string[] = [];
  for (const consumer of consumers) {
    const target = permissionTarget(ecsTaskDefinitionTargetSchema, consumer);
    const region = target.region ?? consumer.fallbackRegion;
    regions.push(region);
    for (const { cluster, service } of target.rollServices ?? []) {
      if (parseArn(service)) {
        services.push(service);
        continue;
      }
      // A cluster ARN says where the service is; a cluster name is in the consumer's region.
      const where = parseArn(cluster) ?? { partition: at.partition, region, account: at.account, resource: `cluster/${cluster}` };
      const clusterName = where.resource.replace(/^cluster\//, "");
      clusters.push(`arn:${where.partition}:ecs:${where.region}:${where.account}:cluster/${clusterName}`);
      services.push(`arn:${where.partition}:ecs:${where.region}:${where.account}:service/${clusterName}/${service}`);
    }
  }
  return { services: unique(services), clusters: unique(clusters), regions: unique(regions) };
}

const onCluster = (test: "ArnLike" | "ArnEquals", clusters: string[]): IamCondition[] => [{ test, variable: "ecs:cluster", values: clusters }];

/**
 * - deliver: DescribeTaskDefinition, which has no resource-level permission (`*`); UpdateService
 *   only on the services listed in `rollServices`; the check that the task's execution role may
 *   read the secret (simulateRoles);
 * - audit-scan: ListClusters (no resource-level permission), then ListTasks and DescribeTasks with
 *   an `ecs:cluster` condition: the clusters of the deploy account in the consumers' regions. A
 *   consumer names a task-definition family, not where its tasks run, so discovery lists every
 *   cluster there; the condition keeps it to those regions;
 * - restart (the audit API): find the task's service (DescribeTasks) and force a new deployment of
 *   it (UpdateService), on the clusters `rollServices` names: the config names no other cluster, and
 *   a region's every service would be far more than a restart needs. A consumer with
 *   `restart: true` and no `rollServices` fails the deploy;
 * - the undeclared-consumer search: ListTaskDefinitionFamilies and DescribeTaskDefinition have no
 *   resource-level permission (`*`); both only read configuration.
 */
export const ecsTaskDefinitionPermissions: TargetPermissions = {
  deliver: (consumers, at) => {
    const { services } = resources(consumers, at);
    return [
      { actions: ["ecs:DescribeTaskDefinition"], resources: ["*"] },
      ...(services.length > 0 ? [{ actions: ["ecs:UpdateService"], resources: services }] : []),
      simulateRoles(at),
    ];
  },
  discover: (consumers, at) => [
    { actions: ["ecs:ListClusters"], resources: ["*"] },
    // ListTasks authorises on container instances and DescribeTasks on tasks, both with the ecs:cluster condition key.
    {
      actions: ["ecs:ListTasks", "ecs:DescribeTasks"],
      resources: ["*"],
      conditions: onCluster(
        "ArnLike",
        resources(consumers, at).regions.map((region) => `arn:${at.partition}:ecs:${region}:${at.account}:cluster/*`),
      ),
    },
  ],
  restart: (consumers, at) => {
    for (const c of consumers) {
      if (!(Array.isArray(c.target.rollServices) && c.target.rollServices.length > 0)) {
        throw new Error(
          `consumers[${c.index}].restart: consumer "${c.id}" (${String(c.target.kind)}) restarts through its ECS services: list them in target.rollServices (cluster and service), or remove restart`,
        );
      }
    }
    const { clusters } = resources(consumers, at);
    if (clusters.length === 0) return [];
    return [
      { actions: ["ecs:DescribeTasks"], resources: ["*"], conditions: onCluster("ArnEquals", clusters) },
      { actions: ["ecs:UpdateService"], resources: clusters.map((cluster) => `${cluster.replace(/:cluster\//, ":service/")}/*`) },
    ];
  },
  undeclaredSearch: () => [{ actions: ["ecs:ListTaskDefinitionFamilies", "ecs:DescribeTaskDefinition"], resources: ["*"] }],
};
