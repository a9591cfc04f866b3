import { codeBuildProjectTargetSchema } from "../packages/aws/src/consumers/codebuild/schema.js";
import { ecsTaskDefinitionTargetSchema } from "../packages/aws/src/consumers/ecs/schema.js";
import type { PullkeeperConfig } from "../packages/core/src/config.js";
import { formatPath } from "../packages/core/src/validation.js";
import { TARGET_MODULES_BY_KIND } from "../packages/aws/src/target-modules.js";
import type { z } from "zod";
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
 * Consumers, for deliver only:
 * - codebuild-project: BatchGetProjects on each project; UpdateProject only where `fixWiring`;
 * - ecs-task-definition: DescribeTaskDefinition, which has no resource-level permission
 *   (resource `*`); UpdateService only on the services listed in `rollServices`;
 * - both: DescribeSecret on the registry's secret, and iam:SimulatePrincipalPolicy to check
 *   that the project's service role / the task's execution role may read it. That role is not
 *   in the config (it is read from the project or task definition at delivery time), so this is
 *   the one broad resource: every role of the deploy account, `arn:<partition>:iam::<account>:role/*`.
 *   SimulatePrincipalPolicy only evaluates policies; it changes nothing and reads no secret.
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

function arnParts(value: string): { partition: string; region: string; account: string; resource: string } | undefined {
  const m = ARN.exec(value);
  return m ? { partition: m[1] as string, region: m[3] as string, account: m[4] as string, resource: m[5] as string } : undefined;
}

/**
 * The consumers' AWS resources, as deliver addresses them (same region rules as the targets).
 * Also used by stacks/audit-permissions.ts (discovery and restart address the same resources).
 */
export function consumerResources(config: PullkeeperConfig, ctx: Pick<RefreshPermissionContext, "partition" | "region" | "account">) {
  const projects: string[] = [];
  const fixedProjects: string[] = [];
  const services: string[] = [];
  // The clusters rollServices names, as ARNs; and the regions the ecs-task-definition consumers live in.
  const clusters: string[] = [];
  const ecsRegions: string[] = [];
  // GitHub and Gitpod tokens, webhook signing keys: secrets the targets read at send time (each module's secretsRead).
  const targetSecrets: string[] = [];
  let ecs = false;
  config.consumers.forEach((consumer, i) => {
    targetSecrets.push(...(TARGET_MODULES_BY_KIND.get(consumer.target.kind)?.secretsRead(consumer.target) ?? []));
    const registry = config.registries.find((r) => r.id === consumer.registry);
    // Where a consumer that names no region lives: the region of the registry's secret ARN, else the deploy region.
    const fallbackRegion = (registry && arnParts(registry.secret)?.region) || ctx.region;
    if (consumer.target.kind === "codebuild-project") {
      const target = parseTarget(codeBuildProjectTargetSchema, consumer.target, i);
      const arn = arnParts(target.project) ? target.project : `arn:${ctx.partition}:codebuild:${target.region ?? fallbackRegion}:${ctx.account}:project/${target.project}`;
      projects.push(arn);
      if (target.fixWiring) fixedProjects.push(arn);
    } else if (consumer.target.kind === "ecs-task-definition") {
      const target = parseTarget(ecsTaskDefinitionTargetSchema, consumer.target, i);
      ecs = true;
      const region = target.region ?? fallbackRegion;
      ecsRegions.push(region);
      for (const { cluster, service } of target.rollServices ?? []) {
        if (arnParts(service)) {
          services.push(service);
          continue;
        }
        // A cluster ARN says where the service is; a cluster name is in the consumer's region.
        const clusterArn = arnParts(cluster);
        const where = clusterArn ?? { partition: ctx.partition, region, account: ctx.account, resource: `cluster/${cluster}` };
        const clusterName = where.resource.replace(/^cluster\//, "");
        clusters.push(`arn:${where.partition}:ecs:${where.region}:${where.account}:cluster/${clusterName}`);
        services.push(`arn:${where.partition}:ecs:${where.region}:${where.account}:service/${clusterName}/${service}`);
      }
    }
  });
  return {
    projects: unique(projects),
    fixedProjects: unique(fixedProjects),
    services: unique(services),
    clusters: unique(clusters),
    ecsRegions: unique(ecsRegions),
    targetSecrets: unique(targetSecrets),
    ecs,
  };
}

/** The deploy validated every consumer already (stacks/consumers.ts); this applies the schema's defaults. */
function parseTarget<S extends z.ZodType>(schema: S, target: unknown, index: number): z.output<S> {
  const parsed = schema.safeParse(target);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${formatPath(["consumers", index, "target", ...issue.path])}: ${issue.message}`);
  throw new Error(`consumers[${index}].target is not valid:\n  ${issues.join("\n  ")}`);
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

  const consumers = consumerResources(config, ctx);
  const deliver: PermissionStatement[] = [
    ...(secrets.length > 0 ? [{ actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources: secrets }] : []),
    fingerprintKey,
    { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [ctx.tableArn] },
    // ChangeMessageVisibility: the worker's backoff for a message whose handling crashed.
    // SendMessage: a retryable delivery is queued again with a delay for its next attempt (the engine's retries).
    { actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility", "sqs:SendMessage"], resources: [ctx.deliveryQueueArn] },
    publish,
    ...(consumers.targetSecrets.length > 0 ? [{ actions: ["secretsmanager:GetSecretValue"], resources: consumers.targetSecrets.map((s) => secretArn(s, ctx)) }] : []),
    ...(consumers.projects.length > 0 ? [{ actions: ["codebuild:BatchGetProjects"], resources: consumers.projects }] : []),
    ...(consumers.fixedProjects.length > 0 ? [{ actions: ["codebuild:UpdateProject"], resources: consumers.fixedProjects }] : []),
    ...(consumers.ecs ? [{ actions: ["ecs:DescribeTaskDefinition"], resources: ["*"] }] : []),
    ...(consumers.services.length > 0 ? [{ actions: ["ecs:UpdateService"], resources: consumers.services }] : []),
    ...(consumers.projects.length > 0 || consumers.ecs ? [{ actions: ["iam:SimulatePrincipalPolicy"], resources: [`arn:${ctx.partition}:iam::${ctx.account}:role/*`] }] : []),
    ...TRACING_PERMISSIONS,
  ];

  return { onSecretChange: clone(planner), reconcile: clone(planner), deliver: clone(deliver) };
}

/** Fresh arrays: SST and the tests may hold and compare the statements independently. */
function clone(statements: readonly PermissionStatement[]): PermissionStatement[] {
  return statements.map((s) => ({ actions: [...s.actions], resources: [...s.resources] }));
}
