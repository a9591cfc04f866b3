import { DescribeTasksCommand, type ECSClient, ListClustersCommand, ListTasksCommand, type Task } from "@aws-sdk/client-ecs";
import { DeliveryError, type DiscoveredEnvironment } from "@pullkeeper/core";
import { awsDeliveryError } from "../shared/aws-errors.js";
import { batches } from "../shared/batches.js";
import { consoleOrigin } from "../shared/console-url.js";
import { parseArn } from "../shared/secret.js";
import type { EcsTaskDefinitionTargetConfig } from "./schema.js";

/**
 * The clusters to look in. A consumer's rollServices say where its family runs as services, so
 * those clusters are searched; a consumer without them says nothing about clusters, so every
 * cluster of the region is (one ListTasks per cluster: cheap next to missing a task).
 */
export async function familyClusters(ecs: ECSClient, target: EcsTaskDefinitionTargetConfig, region: string): Promise<string[]> {
  const named = target.rollServices?.map((s) => s.cluster) ?? [];
  if (named.length > 0) return [...new Set(named)];
  const clusters: string[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await ecs.send(new ListClustersCommand({ ...(nextToken !== undefined && { nextToken }) }));
    } catch (error) {
      throw awsDeliveryError(error, `listing ECS clusters in ${region} (ecs:ListClusters)`);
    }
    clusters.push(...(page.clusterArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return clusters;
}

/** The running tasks (desiredStatus RUNNING, so also those still starting) of `family` in every cluster given. */
export async function discoverTasks(ecs: ECSClient, family: string, clusters: readonly string[], region: string): Promise<DiscoveredEnvironment[]> {
  const found: DiscoveredEnvironment[] = [];
  for (const cluster of clusters) {
    const arns = await listTasks(ecs, family, cluster, region);
    for (const batch of batches(arns)) {
      for (const task of await describeTasks(ecs, cluster, batch, region)) {
        const environment = taskEnvironment(task, region);
        if (environment !== undefined) found.push(environment);
      }
    }
  }
  return found;
}

async function listTasks(ecs: ECSClient, family: string, cluster: string, region: string): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await ecs.send(new ListTasksCommand({ cluster, family, desiredStatus: "RUNNING", ...(nextToken !== undefined && { nextToken }) }));
    } catch (error) {
      throw awsDeliveryError(error, `listing running tasks of family ${family} in ECS cluster ${clusterName(cluster)} (${region}, ecs:ListTasks)`);
    }
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return arns;
}

/**
 * DescribeTasks for at most 100 tasks of one cluster. A task that stopped and aged out between
 * ListTasks and this call comes back as a MISSING failure: it runs nowhere, so it is left out.
 */
export async function describeTasks(ecs: ECSClient, cluster: string, tasks: readonly string[], region: string): Promise<Task[]> {
  let out;
  try {
    out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [...tasks] }));
  } catch (error) {
    throw awsDeliveryError(error, `describing ${tasks.length} task(s) in ECS cluster ${clusterName(cluster)} (${region}, ecs:DescribeTasks)`);
  }
  const failures = (out.failures ?? []).filter((f) => f.reason !== "MISSING");
  if (failures.length > 0) {
    const list = failures.map((f) => `${f.arn ?? "?"}: ${f.reason ?? "?"}${f.detail === undefined ? "" : ` (${f.detail})`}`).join("; ");
    throw new DeliveryError("unavailable", `describing tasks in ECS cluster ${clusterName(cluster)} (${region}, ecs:DescribeTasks) failed for: ${list}`, { retryable: true });
  }
  return out.tasks ?? [];
}

/**
 * One task as an environment. startedAt is when its containers started, so after the image
 * pull read the credential; a task still starting has none yet and its createdAt stands in,
 * which the detail says. A task with neither cannot be placed in time and is left out (ECS
 * always sets createdAt).
 */
export function taskEnvironment(task: Task, region: string): DiscoveredEnvironment | undefined {
  const taskArn = task.taskArn;
  const startedAt = task.startedAt ?? task.createdAt;
  if (taskArn === undefined || startedAt === undefined) return undefined;
  const id = taskId(taskArn);
  const arn = parseArn(taskArn);
  const where = arn?.region || region;
  const cluster = task.clusterArn === undefined ? clusterOfTask(taskArn) : clusterName(task.clusterArn);
  const origin = arn === undefined ? undefined : consoleOrigin(arn.partition, where);
  const url = origin === undefined || cluster === undefined ? undefined : `${origin}/ecs/v2/clusters/${encodeURIComponent(cluster)}/tasks/${id}/configuration?region=${where}`;

  const service = serviceOfGroup(task.group);
  const revision = task.taskDefinitionArn?.match(/:(\d+)$/)?.[1];
  const parts = [
    service === undefined ? `standalone task${task.startedBy === undefined ? "" : ` started by ${task.startedBy}`}` : `service ${service}`,
    ...(cluster === undefined ? [] : [`cluster ${cluster}`]),
    ...(revision === undefined ? [] : [`revision ${revision}`]),
    ...(task.startedAt === undefined ? [`not started yet: startedAt is its createdAt`] : []),
  ];
  return { externalId: taskArn, kind: "ecs-task", name: id, startedAt, status: task.lastStatus ?? "UNKNOWN", ...(url !== undefined && { url }), detail: parts.join(", ") };
}

/** A task's group is "service:<name>" when a service started it, "family:<name>" (or custom) when RunTask did. */
export function serviceOfGroup(group: string | undefined): string | undefined {
  return group?.startsWith("service:") ? group.slice("service:".length) : undefined;
}

/** "arn:…:task/cluster/abc" or the old "arn:…:task/abc" → "abc". */
export function taskId(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf("/") + 1);
}

/** The cluster a task ARN names; old-format task ARNs ("task/<id>") name none. */
export function clusterOfTask(taskArn: string): string | undefined {
  const resource = parseArn(taskArn)?.resource.split("/");
  return resource !== undefined && resource.length === 3 ? resource[1] : undefined;
}

/** "arn:…:cluster/prod" → "prod"; a name stays a name. */
export function clusterName(cluster: string): string {
  return cluster.startsWith("arn:") ? cluster.slice(cluster.lastIndexOf("/") + 1) : cluster;
}
