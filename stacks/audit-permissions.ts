import { TARGET_MODULES } from "../packages/aws/src/target-modules.js";
import type { PullkeeperConfig } from "../packages/core/src/config.js";
import { type PermissionStatement, type RefreshPermissionContext, secretArn, TRACING_PERMISSIONS } from "./config";
import { consumerResources, deliveryPlanningPermissions } from "./propagation-permissions";
import { apiRotationPermissions, type RotationPlan } from "./rotation-permissions";

/**
 * The IAM statements of the audit-scan function and of the audit API's function, derived from
 * pullkeeper.yaml. Pure (no SST globals, no I/O): unit tested in
 * test/infra/audit-permissions.test.ts; stacks/audit.ts and stacks/api.ts pass them to the
 * functions as they are (test/infra/stacks-audit.test.ts checks the deployed roles equal them).
 *
 * audit-scan (functions/audit-scan.ts) discovers the running environments of every consumer,
 * judges them against the ledger, records them, announces Environment Stale and emits metrics
 * (Powertools' embedded metric format goes through the logs: no cloudwatch:PutMetricData):
 * - the ledger and its index: read, write and delete environment records (BatchWriteItem for a
 *   scan's records at once); PutEvents on the pullkeeper bus;
 * - CodeBuild consumers: ListBuildsForProject and BatchGetBuilds on exactly their projects;
 * - ECS consumers: ListClusters (no resource-level permission), then ListTasks and DescribeTasks
 *   with an `ecs:cluster` condition: the clusters of the deploy account in the consumers' regions.
 *   A consumer names a task-definition family, not where its tasks run, so discovery lists every
 *   cluster there; the condition keeps it to those regions;
 * - targets outside AWS whose environments it lists (Codespaces, Gitpod, Kubernetes: the
 *   DISCOVERING_KINDS): read the tokens their config names, derived exactly as for the deliver
 *   function (consumerResources in stacks/propagation-permissions.ts). A webhook or a GitHub
 *   Actions secret has no environments, so the scan never reads their signing key or token;
 * - the undeclared-consumer search: projects and task definitions that reference a registry's
 *   secret but are not in the config. By definition they are not named anywhere, so the search
 *   must list and read them all: ListProjects, ListTaskDefinitionFamilies and
 *   DescribeTaskDefinition have no resource-level permission (`*`); BatchGetProjects has one,
 *   so it is limited to the projects of the deploy account (`project/*`, any region). All four
 *   only read configuration; none reads a secret value.
 * - its failure queue (asynchronous on-failure destination) and tracing.
 */

/** An IAM condition as SST's `FunctionPermissionArgs.conditions` takes it. */
export interface PermissionCondition {
  readonly test: string;
  readonly variable: string;
  readonly values: string[];
}

/** A statement that may carry conditions (only the ECS task statements do). */
export interface ConditionalPermissionStatement extends PermissionStatement {
  readonly conditions?: PermissionCondition[];
}

type Location = Pick<RefreshPermissionContext, "partition" | "region" | "account">;

export interface AuditScanPermissionContext extends Pick<RefreshPermissionContext, "partition" | "region" | "account" | "tableArn" | "busArn"> {
  /** Where a failed asynchronous invocation of audit-scan is sent. */
  readonly failuresQueueArn: string;
}

export interface ApiPermissionContext extends Pick<RefreshPermissionContext, "partition" | "region" | "account" | "tableArn" | "busArn" | "fingerprintKeySecretArn"> {
  readonly deliveryQueueArn: string;
  /** The functions POST /v1/registries/{id}/refresh and POST /v1/environments/scan invoke asynchronously. */
  readonly refreshFunctionArn: string;
  readonly auditScanFunctionArn: string;
  /**
   * With the rotation stack only (htpasswd registries rotated on AWS): its plan and functions, for
   * on-demand rotation (RotateSecret) and rollback (through the revoke function).
   */
  readonly rotation?: { readonly plan: RotationPlan; readonly rotateFunctionArn: string; readonly revokeFunctionArn: string };
}

/**
 * Consumer kinds whose environments the scan lists (each module's capabilities); those outside
 * AWS read a token from Secrets Manager to do it (the module's secretsRead).
 */
export const DISCOVERING_KINDS: ReadonlySet<string> = new Set(TARGET_MODULES.filter((m) => m.capabilities.discoverEnvironments).map((m) => m.kind));

/** Consumer kinds whose environments can be restarted (`restart: true`); a CodeBuild build, a webhook or a file cannot. */
export const RESTARTABLE_KINDS: ReadonlySet<string> = new Set(TARGET_MODULES.filter((m) => m.capabilities.restart).map((m) => m.kind));

const LEDGER_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];

/** The undeclared-consumer search (see above for why these resources). */
export function undeclaredConsumerSearchPermissions(ctx: Location): PermissionStatement[] {
  return [
    { actions: ["codebuild:ListProjects", "ecs:ListTaskDefinitionFamilies", "ecs:DescribeTaskDefinition"], resources: ["*"] },
    { actions: ["codebuild:BatchGetProjects"], resources: [`arn:${ctx.partition}:codebuild:*:${ctx.account}:project/*`] },
  ];
}

const tokenSecrets = (secrets: readonly string[], ctx: Location): PermissionStatement[] =>
  secrets.length > 0 ? [{ actions: ["secretsmanager:GetSecretValue"], resources: secrets.map((s) => secretArn(s, ctx)) }] : [];

const onCluster = (test: "ArnLike" | "ArnEquals", clusters: string[]): PermissionCondition[] => [{ test, variable: "ecs:cluster", values: clusters }];

export function auditScanPermissions(config: PullkeeperConfig, ctx: AuditScanPermissionContext): ConditionalPermissionStatement[] {
  const consumers = consumerResources(config, ctx);
  const discovering = consumerResources({ ...config, consumers: config.consumers.filter((c) => DISCOVERING_KINDS.has(c.target.kind)) }, ctx);
  const clustersIn = consumers.ecsRegions.map((region) => `arn:${ctx.partition}:ecs:${region}:${ctx.account}:cluster/*`);
  return clone([
    { actions: LEDGER_ACTIONS, resources: [ctx.tableArn, `${ctx.tableArn}/index/*`] },
    { actions: ["events:PutEvents"], resources: [ctx.busArn] },
    ...tokenSecrets(discovering.targetSecrets, ctx),
    ...(consumers.projects.length > 0 ? [{ actions: ["codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds"], resources: consumers.projects }] : []),
    ...(consumers.ecs
      ? [
          // ListClusters has no resource-level permission.
          { actions: ["ecs:ListClusters"], resources: ["*"] },
          // ListTasks authorises on container instances and DescribeTasks on tasks, both with the ecs:cluster condition key.
          { actions: ["ecs:ListTasks", "ecs:DescribeTasks"], resources: ["*"], conditions: onCluster("ArnLike", clustersIn) },
        ]
      : []),
    ...undeclaredConsumerSearchPermissions(ctx),
    { actions: ["sqs:SendMessage"], resources: [ctx.failuresQueueArn] },
    ...TRACING_PERMISSIONS,
  ]);
}

/**
 * What POST /v1/environments/{id}/restart needs, for the consumers that opt in with
 * `restart: true` only (none opted in, no statement):
 * - ecs-task-definition: the audit API finds the task's service (DescribeTasks) and forces a new
 *   deployment of it (UpdateService), on the clusters the consumer's `rollServices` names: the
 *   config names no other cluster, and a region's every service would be far more than a restart
 *   needs. A consumer with `restart: true` and no `rollServices` fails the deploy (below);
 * - codespaces-secret, gitpod-secret, kubernetes-secret: read the token their config names to
 *   stop the codespace / environment (a Kubernetes target authenticates with its kubeconfig and
 *   names no token today, so it gets nothing here).
 * Other kinds have no restart; `restart: true` on them grants nothing.
 */
export function restartPermissions(config: PullkeeperConfig, ctx: Location): ConditionalPermissionStatement[] {
  const restartable = config.consumers.filter((c) => c.restart === true && RESTARTABLE_KINDS.has(c.target.kind));
  config.consumers.forEach((c, i) => {
    if (c.restart === true && c.target.kind === "ecs-task-definition" && !(Array.isArray(c.target.rollServices) && c.target.rollServices.length > 0)) {
      throw new Error(
        `consumers[${i}].restart: consumer "${c.id}" (ecs-task-definition) restarts through its ECS services: list them in target.rollServices (cluster and service), or remove restart`,
      );
    }
  });
  const consumers = consumerResources({ ...config, consumers: restartable }, ctx);
  const services = consumers.clusters.map((cluster) => `${cluster.replace(/:cluster\//, ":service/")}/*`);
  return clone([
    ...(consumers.clusters.length > 0
      ? [
          { actions: ["ecs:DescribeTasks"], resources: ["*"], conditions: onCluster("ArnEquals", consumers.clusters) },
          { actions: ["ecs:UpdateService"], resources: services },
        ]
      : []),
    ...tokenSecrets(consumers.targetSecrets, ctx),
  ]);
}

/**
 * The audit API's function:
 * - reads the ledger and its index (every GET);
 * - redeliver plans deliveries in-process, exactly like reconcile (deliveryPlanningPermissions,
 *   shared with stacks/propagation-permissions.ts; not reconcile's failure queue: the API is not
 *   invoked asynchronously);
 * - POST /v1/registries/{id}/refresh and POST /v1/environments/scan invoke the refresh and
 *   audit-scan functions asynchronously: lambda:InvokeFunction on exactly those two;
 * - with the rotation stack: RotateSecret on the rotated secrets (refresh of an htpasswd
 *   registry) and the revoke function (rollback): apiRotationPermissions in
 *   stacks/rotation-permissions.ts; nothing without it;
 * - restart, for the consumers that opt in (restartPermissions); tracing.
 */
export function apiPermissions(config: PullkeeperConfig, ctx: ApiPermissionContext): ConditionalPermissionStatement[] {
  return clone([
    { actions: ["dynamodb:GetItem", "dynamodb:Query"], resources: [ctx.tableArn, `${ctx.tableArn}/index/*`] },
    ...deliveryPlanningPermissions(config, ctx),
    { actions: ["lambda:InvokeFunction"], resources: [ctx.refreshFunctionArn, ctx.auditScanFunctionArn] },
    ...(ctx.rotation ? apiRotationPermissions(ctx.rotation.plan, { ...ctx, ...ctx.rotation }) : []),
    ...restartPermissions(config, ctx),
    ...TRACING_PERMISSIONS,
  ]);
}

/** Fresh arrays: SST and the tests may hold and compare the statements independently. */
function clone(statements: readonly ConditionalPermissionStatement[]): ConditionalPermissionStatement[] {
  return statements.map((s) => ({
    actions: [...s.actions],
    resources: [...s.resources],
    ...(s.conditions && { conditions: s.conditions.map((c) => ({ ...c, values: [...c.values] })) }),
  }));
}
