import { expect } from "vitest";

/** The only actions allowed on resource `*`: AWS offers no resource-level permission for them. */
export const ACTIONS_WITHOUT_RESOURCES = new Set([
  "ecr:GetAuthorizationToken",
  "ecr-public:GetAuthorizationToken",
  "sts:GetServiceBearerToken",
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
  "ecs:DescribeTaskDefinition",
]);

/**
 * The only resources with a `*` in them (besides `*` itself, above):
 * - a DynamoDB table's indexes (`<table ARN>/index/*`);
 * - every role of one account, for iam:SimulatePrincipalPolicy alone: the deliver function checks
 *   a consumer's service / execution role, which is read at delivery time and not in the config.
 * A secret given by name ends in `-??????` (the random suffix), which names one secret.
 */
function documentedWildcard(actions: readonly string[], resource: string): boolean {
  if (/^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[^*/]+\/index\/\*$/.test(resource)) return true;
  return actions.length === 1 && actions[0] === "iam:SimulatePrincipalPolicy" && /^arn:aws[a-z-]*:iam::\d{12}:role\/\*$/.test(resource);
}

export function expectLeastPrivilege(statements: readonly { readonly actions: readonly string[]; readonly resources: readonly string[] }[]) {
  for (const s of statements) {
    for (const action of s.actions) expect(action, "no action wildcard (`*` or `service:*`)").not.toMatch(/\*/);
    if (s.resources.includes("*")) {
      // Never secretsmanager, dynamodb, events or sts:AssumeRole on `*`.
      expect(s.resources, "`*` stands alone").toEqual(["*"]);
      for (const action of s.actions) expect([...ACTIONS_WITHOUT_RESOURCES], `${action} on *`).toContain(action);
    }
    for (const resource of s.resources) {
      if (resource === "*") continue;
      expect(resource).toMatch(/^arn:aws[a-z-]*:[a-z0-9-]+:/);
      if (resource.includes("*")) expect(documentedWildcard(s.actions, resource), `${s.actions.join(",")} on ${resource}: undocumented wildcard resource`).toBe(true);
    }
  }
}
