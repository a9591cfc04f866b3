import type { PullkeeperConfig } from "../packages/core/src/config/config-document.js";
import type { DeployLocation, IamStatement, PermissionConsumer, TargetModule, TargetPermissions } from "../packages/core/src/model/target-module.js";
import { TARGET_MODULES, TARGET_MODULES_BY_KIND } from "../packages/aws/src/target-modules.js";
import { type PermissionStatement, type RefreshPermissionContext, secretArn, TRACING_PERMISSIONS } from "./config";
import { trackedSecrets } from "./propagation-config";

/**
 * The IAM statements of the three propagation functions, derived from pullkeeper.yaml. Pure: unit
 * tested in test/infra/propagation-permissions.test.ts; the stack passes them to the functions
 * as they are (test/infra/stacks-propagation.test.ts checks the deployed roles equal them).
 *
 * Each function gets what its code calls, and nothing else:
 * - on-secret-change and reconcile plan deliveries (PropagationService.propagate): read the
 *   registry secret's AWSCURRENT value (GetSecretValue), list the consumers' ledger records
 *   (Query), mark them pending (UpdateItem, and GetItem when the condition fails), queue the
 *   deliveries (SendMessageBatch, authorised by sqs:SendMessage), announce Delivery Requested.
 *   A failed asynchronous invocation goes to the failure queue with the function's role.
 * - deliver reads a version by VersionId (GetSecretValue), reads and updates the consumer's
 *   ledger record and the rate-limiter items in the same table (GetItem, UpdateItem), consumes
 *   the delivery queue (what a Lambda SQS event source needs), announces Delivery Failed, and
 *   calls the consumers' AWS APIs (below).
 * - All three load the fingerprint HMAC key (read, and write it once on first use) and trace.
 * - None queries an index: the ledger's index serves the audit API only.
 *
 * Consumers, for deliver only: the secrets each target reads (its module's secretsRead), and what
 * each kind's own API calls need (its module's permissions.deliver: the CodeBuild and ECS calls,
 * and iam:SimulatePrincipalPolicy on the deploy account's roles to check that a project's service
 * role / a task's execution role may read the registry's secret; DescribeSecret on that secret
 * is deliver's own).
 */

export interface PropagationPermissionContext extends Pick<RefreshPermissionContext, "partition" | "region" | "account" | "tableArn" | "busArn" | "fingerprintKeySecretArn"> {
  readonly deliveryQueueArn: string;
  /** Where a failed asynchronous invocation of on-secret-change or reconcile is sent. */
  readonly failuresQueueArn: string;
}

export interface PropagationPermissions {
  readonly onSecretChange: PermissionStatement[];
  readonly reconcile: PermissionStatement[];
  readonly deliver: PermissionStatement[];
}

const unique = (values: Iterable<string>): string[] => [...new Set(values)];

const ARN = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/;

/** One config consumer as a module's permissions see it: where it lives when it names no region. */
function permissionConsumers(config: PullkeeperConfig, ctx: DeployLocation): PermissionConsumer[] {
  return config.consumers.map((consumer, index) => {
    const registry = config.registries.find((r) => r.id === consumer.registry);
    // Where a consumer that names no region lives: the region of the registry's secret ARN, else the deploy region.
    const fallbackRegion = (registry && ARN.exec(registry.secret)?.[3]) || ctx.region;
    return { index, id: consumer.id, target: consumer.target, ...(consumer.restart !== undefined && { restart: consumer.restart }), fallbackRegion };
  });
}

/**
 * The secrets the given consumers' targets read at send time (GitHub and Gitpod tokens, webhook
 * signing keys: each module's secretsRead), as ARNs.
 */
export function targetSecretsStatements(config: PullkeeperConfig, ctx: DeployLocation, include: (consumer: PullkeeperConfig["consumers"][number]) => boolean = () => true): IamStatement[] {
  const secrets = unique(config.consumers.filter(include).flatMap((c) => TARGET_MODULES_BY_KIND.get(c.target.kind)?.secretsRead(c.target) ?? []));
  return secrets.length > 0 ? [{ actions: ["secretsmanager:GetSecretValue"], resources: secrets.map((s) => secretArn(s, ctx)) }] : [];
}

/**
 * What the consumers' kinds need for one function (a hook of their modules' permissions), in
 * registry order, each kind called with its consumers (`include` picks them). A statement two
 * kinds both need is granted once, after both; statements on `*` without conditions (actions
 * without resource-level permissions) are one statement. Also used by stacks/audit-permissions.ts.
 */
export function kindStatements(
  config: PullkeeperConfig,
  ctx: DeployLocation,
  hook: (permissions: TargetPermissions, module: TargetModule) => ((consumers: readonly PermissionConsumer[], at: DeployLocation) => IamStatement[]) | undefined,
  include: (consumer: PermissionConsumer, module: TargetModule) => boolean = () => true,
): IamStatement[] {
  const consumers = permissionConsumers(config, ctx);
  const statements = TARGET_MODULES.flatMap((m) => {
    const grant = m.permissions && hook(m.permissions, m);
    const mine = consumers.filter((c) => c.target.kind === m.kind && include(c, m));
    return grant && mine.length > 0 ? grant(mine, ctx) : [];
  });
  return combine(statements);
}

/** See kindStatements: duplicates kept once (the last), unconditional `*` statements merged into the first. */
export function combine(statements: readonly IamStatement[]): IamStatement[] {
  const key = (s: IamStatement) => JSON.stringify(s);
  const last = new Map(statements.map((s, i) => [key(s), i]));
  const combined: IamStatement[] = [];
  let anyResource: IamStatement | undefined;
  statements.forEach((s, i) => {
    if (last.get(key(s)) !== i) return;
    const unconditionalAny = !s.conditions && s.resources.length === 1 && s.resources[0] === "*";
    if (unconditionalAny && anyResource) {
      anyResource.actions.push(...s.actions.filter((a) => !anyResource?.actions.includes(a)));
      return;
    }
    const copy = { ...s, actions: [...s.actions], resources: [...s.resources] };
    if (unconditionalAny) anyResource = copy;
    combined.push(copy);
  });
  return combined;
}

const fingerprintKeyStatement = (ctx: Pick<PropagationPermissionContext, "fingerprintKeySecretArn">): PermissionStatement => ({
  actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
  resources: [ctx.fingerprintKeySecretArn],
});

/**
 * What planning deliveries in-process takes (PropagationService.propagate, see above): the
 * statements on-secret-change and reconcile share, without their failure queue and tracing.
 * The audit API's redeliver plans the same way (stacks/audit-permissions.ts, apiPermissions).
 */
export function deliveryPlanningPermissions(config: PullkeeperConfig, ctx: Omit<PropagationPermissionContext, "failuresQueueArn">): PermissionStatement[] {
  const secrets = trackedSecrets(config).map((s) => secretArn(s.configured, ctx));
  return clone([
    ...(secrets.length > 0 ? [{ actions: ["secretsmanager:GetSecretValue"], resources: secrets }] : []),
    fingerprintKeyStatement(ctx),
    { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"], resources: [ctx.tableArn] },
    { actions: ["sqs:SendMessage"], resources: [ctx.deliveryQueueArn] },
    { actions: ["events:PutEvents"], resources: [ctx.busArn] },
  ]);
}

export function propagationPermissions(config: PullkeeperConfig, ctx: PropagationPermissionContext): PropagationPermissions {
  const secrets = trackedSecrets(config).map((s) => secretArn(s.configured, ctx));
  const fingerprintKey = fingerprintKeyStatement(ctx);
  const publish: PermissionStatement = { actions: ["events:PutEvents"], resources: [ctx.busArn] };

  const planner: PermissionStatement[] = [
    ...deliveryPlanningPermissions(config, ctx),
    { actions: ["sqs:SendMessage"], resources: [ctx.failuresQueueArn] },
    ...TRACING_PERMISSIONS,
  ];

  const deliver: PermissionStatement[] = [
    ...(secrets.length > 0 ? [{ actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources: secrets }] : []),
    fingerprintKey,
    { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [ctx.tableArn] },
    // ChangeMessageVisibility: the worker's backoff for a message whose handling crashed.
    // SendMessage: a retryable delivery is queued again with a delay for its next attempt (the engine's retries).
    { actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility", "sqs:SendMessage"], resources: [ctx.deliveryQueueArn] },
    publish,
    ...targetSecretsStatements(config, ctx),
    ...kindStatements(config, ctx, (p) => p.deliver),
    ...TRACING_PERMISSIONS,
  ];

  return { onSecretChange: clone(planner), reconcile: clone(planner), deliver: clone(deliver) };
}

/** Fresh arrays: SST and the tests may hold and compare the statements independently. */
function clone(statements: readonly PermissionStatement[]): PermissionStatement[] {
  return statements.map((s) => ({ actions: [...s.actions], resources: [...s.resources] }));
}
