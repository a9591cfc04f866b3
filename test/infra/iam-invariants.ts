import { expect } from "vitest";

/** The only actions allowed on resource `*`: AWS offers no resource-level permission for them. */
export const ACTIONS_WITHOUT_RESOURCES = new Set(["ecr:GetAuthorizationToken", "ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken", "xray:PutTraceSegments", "xray:PutTelemetryRecords"]);

export function expectLeastPrivilege(statements: readonly { readonly actions: readonly string[]; readonly resources: readonly string[] }[]) {
  for (const s of statements) {
    for (const action of s.actions) expect(action, "no action wildcard (`*` or `service:*`)").not.toMatch(/\*/);
    if (s.resources.includes("*")) {
      // Never secretsmanager, dynamodb, events or sts:AssumeRole on `*`.
      expect(s.resources, "`*` stands alone").toEqual(["*"]);
      for (const action of s.actions) expect([...ACTIONS_WITHOUT_RESOURCES], `${action} on *`).toContain(action);
    }
    for (const resource of s.resources) if (resource !== "*") expect(resource).toMatch(/^arn:aws[a-z-]*:[a-z0-9-]+:/);
  }
}
