/**
 * Just enough of IAM's evaluation to ask "may this identity policy invoke this route?": the
 * request's execute-api ARN, and Allow statements matched on action and resource with IAM's
 * wildcards (`*` any run of characters, `?` one character, case-sensitive). No Deny, no
 * conditions: the audit API's roles use neither (test/infra/stacks-audit.test.ts checks that).
 */

/** A concrete path for a route key's parameters, so `{proxy+}` stands for a real request. */
const SAMPLE_PATHS: Record<string, string> = {
  "GET /v1/{proxy+}": "/v1/registries/hub/history",
  "POST /v1/{proxy+}": "/v1/registries/hub/refresh",
};

/** `<execution ARN>/<stage>/<METHOD>/<path without its leading slash>`, as API Gateway authorises a request. */
export function requestArn(executionArn: string, stage: string, routeKey: string): string {
  const [method, path] = routeKey.split(" ") as [string, string];
  return `${executionArn}/${stage}/${method}${SAMPLE_PATHS[routeKey] ?? path}`;
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

export function allowsInvoke(statements: readonly { readonly actions: readonly string[]; readonly resources: readonly string[] }[], arn: string): boolean {
  return statements.some((s) => s.actions.includes("execute-api:Invoke") && s.resources.some((r) => glob(r).test(arn)));
}
