import { TARGET_MODULES } from "../packages/aws/src/target-modules.js";
import type { PullkeeperConfig } from "../packages/core/src/config/config-document.js";
import { type PermissionStatement, type RefreshPermissionContext, TRACING_PERMISSIONS } from "./config";
import { combine, deliveryPlanningPermissions, kindStatements, targetSecretsStatements } from "./propagation-permissions";
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
 * - the consumers of the kinds whose environments it lists (the DISCOVERING_KINDS): the tokens
 *   their config names (each module's secretsRead, derived exactly as for the deliver function),
 *   and what listing calls (each module's permissions.discover: CodeBuild's builds of exactly the
 *   consumers' projects, ECS tasks on the clusters of the consumers' regions). A webhook or a
 *   GitHub Actions secret has no environments, so the scan never reads their signing key or token;
 * - the undeclared-consumer search: resources that reference a registry's secret but are not in
 *   the config (each module's permissions.undeclaredSearch: CodeBuild projects, ECS task
 *   definitions). By definition they are not named anywhere, so the search lists and reads them
 *   all; it only reads configuration, never a secret value.
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
   * With the rotation stack only (registries rotated on AWS): its plan and functions, for
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

/** The undeclared-consumer search (see above), whatever the config: each module's part. */
export function undeclaredConsumerSearchPermissions(ctx: Location): PermissionStatement[] {
  return combine(TARGET_MODULES.flatMap((m) => m.permissions?.undeclaredSearch?.(ctx) ?? []));
}

export function auditScanPermissions(config: PullkeeperConfig, ctx: AuditScanPermissionContext): ConditionalPermissionStatement[] {
  return clone([
    { actions: LEDGER_ACTIONS, resources: [ctx.tableArn, `${ctx.tableArn}/index/*`] },
    { actions: ["events:PutEvents"], resources: [ctx.busArn] },
    ...targetSecretsStatements(config, ctx, (c) => DISCOVERING_KINDS.has(c.target.kind)),
    ...kindStatements(config, ctx, (p, m) => (m.capabilities.discoverEnvironments ? p.discover : undefined)),
    ...undeclaredConsumerSearchPermissions(ctx),
    { actions: ["sqs:SendMessage"], resources: [ctx.failuresQueueArn] },
    ...TRACING_PERMISSIONS,
  ]);
}

/**
 * What POST /v1/environments/{id}/restart needs, for the consumers of the RESTARTABLE_KINDS that
 * opt in with `restart: true` only (none opted in, no statement): what restarting calls (each
 * module's permissions.restart: ECS finds the task's service and forces a new deployment of it,
 * and fails the deploy for a consumer that names no service to roll), then the token the config
 * names to stop a codespace or a Gitpod environment (secretsRead).
 * Other kinds have no restart; `restart: true` on them grants nothing.
 */
export function restartPermissions(config: PullkeeperConfig, ctx: Location): ConditionalPermissionStatement[] {
  return clone([
    ...kindStatements(config, ctx, (p, m) => (m.capabilities.restart ? p.restart : undefined), (c) => c.restart === true),
    ...targetSecretsStatements(config, ctx, (c) => c.restart === true && RESTARTABLE_KINDS.has(c.target.kind)),
  ]);
}

/**
 * The audit API's function:
 * - reads the ledger and its index (every GET; a page of registries in BatchGetItem calls);
 * - redeliver plans deliveries in-process, exactly like reconcile (deliveryPlanningPermissions,
 *   shared with stacks/propagation-permissions.ts; not reconcile's failure queue: the API is not
 *   invoked asynchronously);
 * - POST /v1/registries/{id}/refresh and POST /v1/environments/scan invoke the refresh and
 *   audit-scan functions asynchronously: lambda:InvokeFunction on exactly those two;
 * - with the rotation stack: RotateSecret on the rotated secrets (refresh of a rotated
 *   registry) and the revoke function (rollback): apiRotationPermissions in
 *   stacks/rotation-permissions.ts; nothing without it;
 * - restart, for the consumers that opt in (restartPermissions); tracing.
 */
export function apiPermissions(config: PullkeeperConfig, ctx: ApiPermissionContext): ConditionalPermissionStatement[] {
  return clone([
    { actions: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"], resources: [ctx.tableArn, `${ctx.tableArn}/index/*`] },
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
