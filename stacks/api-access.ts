/**
 * Who may call the audit API on AWS. Pure (no SST globals, no I/O): used by stacks/api.ts and
 * stacks/index.ts, unit tested in test/infra/api-access.test.ts.
 *
 * Every route of the HTTP API requires IAM authorization (SigV4). Two roles grant
 * `execute-api:Invoke`: the on-call reader (GET routes only) and the operator (GET and POST).
 *
 * Who may assume them is decided at deploy time, from PULLKEEPER_AUDIT_READERS and
 * PULLKEEPER_AUDIT_OPERATORS (comma-separated IAM principal ARNs: an account root, a user or a
 * role, in any account). Unset or empty, the role trusts its own account's root: the account
 * delegates to its IAM policies, so any user or role of the account whose own policy allows
 * `sts:AssumeRole` on the role may assume it, and nobody else. That keeps access out of the
 * deployment (granted and revoked in IAM, where the account's people already are) while a list
 * pins it to named principals. A value that is not such a list fails the deploy before
 * anything is declared.
 */

/** The stage SST's ApiGatewayV2 deploys (`$default`, auto-deployed); it is in every execute-api ARN. */
export const API_STAGE = "$default";

/** Reads: the dashboard and `GET /v1/...`. */
export const READ_ROUTES = ["GET /", "GET /dashboard.js", "GET /v1/{proxy+}"] as const;
/** Actions: refresh, redeliver, restart, scan. */
export const ACTION_ROUTES = ["POST /v1/{proxy+}"] as const;
export const API_ROUTES = [...READ_ROUTES, ...ACTION_ROUTES] as const;

export type ApiRole = "reader" | "operator";

/** The HTTP methods each role may invoke. Every GET route is a read and every POST an action, so a method covers its routes. */
export const ROLE_METHODS: Readonly<Record<ApiRole, readonly string[]>> = { reader: ["GET"], operator: ["GET", "POST"] };

/** The environment variable that names a role's principals. */
export const PRINCIPALS_VARIABLE: Readonly<Record<ApiRole, string>> = { reader: "PULLKEEPER_AUDIT_READERS", operator: "PULLKEEPER_AUDIT_OPERATORS" };

/**
 * `arn:<partition>:iam::<account>:root`, `...:user/<path/name>` or `...:role/<path/name>`. IAM
 * accepts no wildcard in an AWS principal (other than `*` alone, which this refuses).
 */
const PRINCIPAL_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:root|(?:user|role)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,128})$/;

export interface ApiPrincipals {
  /** Principal ARNs per role; `undefined` means the deploy account's root. */
  readonly reader: readonly string[] | undefined;
  readonly operator: readonly string[] | undefined;
}

/**
 * Reads PULLKEEPER_AUDIT_READERS and PULLKEEPER_AUDIT_OPERATORS. Throws one error naming every
 * bad entry, e.g. `PULLKEEPER_AUDIT_READERS: "alice" is not an IAM principal ARN (...)`.
 */
export function apiPrincipals(env: NodeJS.ProcessEnv = process.env): ApiPrincipals {
  const problems: string[] = [];
  const read = (role: ApiRole): string[] | undefined => {
    const variable = PRINCIPALS_VARIABLE[role];
    const raw = env[variable]?.trim();
    if (!raw) return undefined;
    const entries = raw.split(",").map((e) => e.trim());
    entries.forEach((entry, i) => {
      if (entry === "") problems.push(`${variable}: entry ${i + 1} is empty (a stray comma?)`);
      else if (/^\d{12}$/.test(entry)) problems.push(`${variable}: "${entry}" is an account ID; write its root as arn:aws:iam::${entry}:root`);
      else if (!PRINCIPAL_ARN.test(entry)) {
        problems.push(`${variable}: "${entry}" is not an IAM principal ARN (expected arn:<partition>:iam::<account>:root, :user/<name> or :role/<name>)`);
      }
    });
    return [...new Set(entries)];
  };
  const principals = { reader: read("reader"), operator: read("operator") };
  if (problems.length > 0) {
    throw new Error(`the audit API's principals are not valid (comma-separated IAM principal ARNs; unset means the deploy account):\n  ${problems.join("\n  ")}`);
  }
  return principals;
}

/** The account root of the deploy account: trust delegated to the account's IAM policies. */
export function accountRoot(partition: string, account: string): string {
  return `arn:${partition}:iam::${account}:root`;
}

/** `execute-api:Invoke` resources of a role: `<execution ARN>/<stage>/<METHOD>/*` per method. */
export function invokeResources(executionArn: string, role: ApiRole, stage: string = API_STAGE): string[] {
  return ROLE_METHODS[role].map((method) => `${executionArn}/${stage}/${method}/*`);
}
