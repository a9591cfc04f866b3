/**
 * Who may call the audit API on AWS. Pure (no SST globals, no I/O): used by stacks/api.ts and
 * stacks/index.ts, unit tested in test/infra/api-access.test.ts.
 *
 * Every route of the HTTP API requires IAM authorization (SigV4). Two roles grant
 * `execute-api:Invoke`: the on-call reader (GET routes only) and the operator (GET and POST).
 *
 * Who may assume them is decided by pullkeeper.yaml's `settings.api.readers` and
 * `settings.api.operators` (IAM principal ARNs: an account root, a user or a role, in any
 * account; validated with the rest of the file). A role left out trusts its own account's root: the account
 * delegates to its IAM policies, so any user or role of the account whose own policy allows
 * `sts:AssumeRole` on the role may assume it, and nobody else. That keeps access out of the
 * deployment (granted and revoked in IAM, where the account's people already are) while a list
 * pins it to named principals.
 *
 * They were PULLKEEPER_AUDIT_READERS / PULLKEEPER_AUDIT_OPERATORS, deploy-time variables: one
 * forgotten on a redeploy silently reverted the role to the whole account. The file is versioned
 * with the rest, so the variables are no longer read, and a deploy with either set fails, saying
 * what to write in the file instead (rather than a second source that may disagree).
 */
import type { PullkeeperConfig } from "../packages/core/src/config/config-document.js";


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

/** The environment variables that named a role's principals before settings.api; set, they fail the deploy. */
export const PRINCIPALS_VARIABLE: Readonly<Record<ApiRole, string>> = { reader: "PULLKEEPER_AUDIT_READERS", operator: "PULLKEEPER_AUDIT_OPERATORS" };

/** The key under settings.api that names a role's principals. */
export const PRINCIPALS_SETTING: Readonly<Record<ApiRole, "readers" | "operators">> = { reader: "readers", operator: "operators" };

export interface ApiPrincipals {
  /** Principal ARNs per role; `undefined` means the deploy account's root. */
  readonly reader: readonly string[] | undefined;
  readonly operator: readonly string[] | undefined;
}

/**
 * The audit API's principals from `settings.api` of the checked config. Throws when
 * PULLKEEPER_AUDIT_READERS or PULLKEEPER_AUDIT_OPERATORS is set, showing the YAML to write in
 * `file` instead.
 */
export function apiPrincipals(config: PullkeeperConfig, env: NodeJS.ProcessEnv = process.env, file = "pullkeeper.yaml"): ApiPrincipals {
  const roles = (Object.keys(PRINCIPALS_VARIABLE) as ApiRole[]).filter((role) => env[PRINCIPALS_VARIABLE[role]]?.trim());
  if (roles.length > 0) {
    const yaml = roles.map((role) => {
      const entries = (env[PRINCIPALS_VARIABLE[role]] ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "");
      return `      ${PRINCIPALS_SETTING[role]}: [${entries.join(", ")}]`;
    });
    throw new Error(
      `${roles.map((role) => PRINCIPALS_VARIABLE[role]).join(" and ")} ${roles.length > 1 ? "are" : "is"} no longer read: who may call the audit API is set in ${file}, versioned with the rest, so a redeploy cannot drop it. Write this in ${file}, then unset the variable${roles.length > 1 ? "s" : ""}:\n  settings:\n    api:\n${yaml.join("\n")}`,
    );
  }
  return { reader: config.settings.api?.readers, operator: config.settings.api?.operators };
}

/** The account root of the deploy account: trust delegated to the account's IAM policies. */
export function accountRoot(partition: string, account: string): string {
  return `arn:${partition}:iam::${account}:root`;
}

/** `execute-api:Invoke` resources of a role: `<execution ARN>/<stage>/<METHOD>/*` per method. */
export function invokeResources(executionArn: string, role: ApiRole, stage: string = API_STAGE): string[] {
  return ROLE_METHODS[role].map((method) => `${executionArn}/${stage}/${method}/*`);
}
