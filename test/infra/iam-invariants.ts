import { expect } from "vitest";

/** The only actions allowed on resource `*`: AWS offers no resource-level permission for them. */
export const ACTIONS_WITHOUT_RESOURCES = new Set([
  "ecr:GetAuthorizationToken",
  "ecr-public:GetAuthorizationToken",
  "sts:GetServiceBearerToken",
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
  "ecs:DescribeTaskDefinition",
  // The audit's undeclared-consumer search and ECS discovery (stacks/audit-permissions.ts).
  "codebuild:ListProjects",
  "ecs:ListTaskDefinitionFamilies",
  "ecs:ListClusters",
  // Attaching the rotation and revoke functions to their VPC (stacks/rotation-permissions.ts, vpcPermissions).
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
]);

/**
 * Actions allowed on `*` only with an `ecs:cluster` condition: ListTasks authorises on container
 * instances (a Fargate task has none) and DescribeTasks on tasks, both with that condition key;
 * the condition names the clusters (stacks/audit-permissions.ts).
 */
export const ACTIONS_SCOPED_BY_CLUSTER = new Set(["ecs:ListTasks", "ecs:DescribeTasks"]);

export interface Condition {
  readonly test: string;
  readonly variable: string;
  readonly values: readonly string[];
}

/**
 * The only resources with a `*` in them (besides `*` itself, above):
 * - a DynamoDB table's indexes (`<table ARN>/index/*`);
 * - every role of one account, for iam:SimulatePrincipalPolicy alone: the deliver function checks
 *   a consumer's service / execution role, which is read at delivery time and not in the config.
 * A secret given by name ends in `-??????` (the random suffix), which names one secret.
 */
function documentedWildcard(actions: readonly string[], resource: string): boolean {
  if (/^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[^*/]+\/index\/\*$/.test(resource)) return true;
  const only = (action: string) => actions.length === 1 && actions[0] === action;
  if (only("iam:SimulatePrincipalPolicy")) return /^arn:aws[a-z-]*:iam::\d{12}:role\/\*$/.test(resource);
  // The undeclared-consumer search reads every project of the deploy account (any region).
  if (only("codebuild:BatchGetProjects")) return /^arn:aws[a-z-]*:codebuild:\*:\d{12}:project\/\*$/.test(resource);
  // Restart rolls any service of a cluster an opted-in consumer names.
  if (only("ecs:UpdateService")) return /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service\/[^*/]+\/\*$/.test(resource);
  // The rotation and revoke functions' network interfaces in the deploy account and region (Lambda creates them with the function's role).
  if (actions.every((a) => ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"].includes(a))) {
    return /^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:network-interface\/\*$/.test(resource);
  }
  // The audit API's roles: one HTTP method of one stage of one API.
  if (only("execute-api:Invoke")) return /^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:\d{12}:[^*/]+\/[^*/]+\/(GET|POST)\/\*$/.test(resource);
  return false;
}

export function expectLeastPrivilege(statements: readonly { readonly actions: readonly string[]; readonly resources: readonly string[]; readonly conditions?: readonly Condition[] | undefined }[]) {
  for (const s of statements) {
    for (const action of s.actions) expect(action, "no action wildcard (`*` or `service:*`)").not.toMatch(/\*/);
    if (s.conditions !== undefined) {
      // Conditions only narrow the ECS task statements, to clusters of named accounts and regions.
      expect(s.actions.every((a) => ACTIONS_SCOPED_BY_CLUSTER.has(a)), `${s.actions.join(",")}: unexpected condition`).toBe(true);
      expect(s.conditions.map((c) => c.variable)).toEqual(["ecs:cluster"]);
      for (const value of s.conditions.flatMap((c) => c.values)) expect(value).toMatch(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/([^*/]+|\*)$/);
    }
    if (s.resources.includes("*")) {
      // Never secretsmanager, dynamodb, events or sts:AssumeRole on `*`.
      expect(s.resources, "`*` stands alone").toEqual(["*"]);
      for (const action of s.actions) {
        if (ACTIONS_SCOPED_BY_CLUSTER.has(action)) expect(s.conditions?.length, `${action} on * needs an ecs:cluster condition`).toBe(1);
        else expect([...ACTIONS_WITHOUT_RESOURCES], `${action} on *`).toContain(action);
      }
    }
    for (const resource of s.resources) {
      if (resource === "*") continue;
      expect(resource).toMatch(/^arn:aws[a-z-]*:[a-z0-9-]+:/);
      if (resource.includes("*")) expect(documentedWildcard(s.actions, resource), `${s.actions.join(",")} on ${resource}: undocumented wildcard resource`).toBe(true);
    }
  }
}
