import { type ECSClient, type Task, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { DeliveryError, type RestartOutcome } from "@pullkeeper/core";
import { awsDeliveryError, awsErrorName } from "../shared/aws-errors.js";
import { clusterName, clusterOfTask, describeTasks, serviceOfGroup, taskId } from "./environments.js";
import { ECS_NOT_FOUND } from "./errors.js";

export const RESTART_UNSUPPORTED = "restart_unsupported";

/**
 * Restarts a task the only safe way: by forcing a new deployment of the service that owns it,
 * so ECS starts replacements (which read the secret's current value) before it drains the old
 * ones. `clusters` is where to look when the task's ARN is in the old format and names no cluster.
 */
export async function rollTaskService(ecs: ECSClient, taskArn: string, family: string, region: string, clusters: () => Promise<readonly string[]>): Promise<RestartOutcome> {
  const { task, cluster } = await findTask(ecs, taskArn, region, clusters);
  const id = taskId(taskArn);
  const taskFamily = task.taskDefinitionArn?.match(/task-definition\/([^:]+):\d+$/)?.[1];
  if (taskFamily !== undefined && taskFamily !== family) {
    throw new DeliveryError("invalid_request", `ECS task ${id} runs task definition family ${taskFamily}, not this consumer's family ${family}: not restarted`, { retryable: false });
  }
  if (task.lastStatus === "STOPPED" || task.desiredStatus === "STOPPED") {
    throw new DeliveryError("not_found", `ECS task ${id} in cluster ${clusterName(cluster)} is already stopping or stopped (${task.lastStatus ?? "?"}): nothing to restart`, { retryable: false });
  }
  const service = serviceOfGroup(task.group);
  if (service === undefined) {
    throw new DeliveryError(
      RESTART_UNSUPPORTED,
      `ECS task ${id} in cluster ${clusterName(cluster)} is a standalone task (group ${task.group ?? "none"}${task.startedBy === undefined ? "" : `, started by ${task.startedBy}`}), ` +
        `not part of a service: stopping it would just kill it, and nothing would start it again with the current credential. Run it again yourself once it is done`,
      { retryable: false },
    );
  }
  try {
    await ecs.send(new UpdateServiceCommand({ cluster, service, forceNewDeployment: true }));
  } catch (error) {
    const name = awsErrorName(error);
    if (ECS_NOT_FOUND.has(name)) throw new DeliveryError("not_found", `ECS service ${service} in cluster ${clusterName(cluster)} (${region}): ${name}: ${(error as Error).message ?? ""}`, { retryable: false, cause: error });
    throw awsDeliveryError(error, `forcing a new deployment of ECS service ${service} in cluster ${clusterName(cluster)} (${region}, ecs:UpdateService)`);
  }
  return { detail: `rolled service ${service} in ${clusterName(cluster)}` };
}

async function findTask(ecs: ECSClient, taskArn: string, region: string, clusters: () => Promise<readonly string[]>): Promise<{ task: Task; cluster: string }> {
  const named = clusterOfTask(taskArn);
  const candidates = named === undefined ? await clusters() : [named];
  for (const cluster of candidates) {
    const task = (await describeTasks(ecs, cluster, [taskArn], region))[0];
    if (task !== undefined) return { task, cluster };
  }
  throw new DeliveryError("not_found", `ECS task ${taskId(taskArn)} was not found in ${region} (it may have stopped since the audit saw it)`, { retryable: false });
}
