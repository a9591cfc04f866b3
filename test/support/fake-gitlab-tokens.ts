/** Fake GitLab data model: request and token types, which scopes open the registry, and the API entity view of a token. */

export interface GitLabRequest {
  readonly method: string;
  /** Path without the query, as sent (URL-encoded). */
  readonly path: string;
  /** The description's operation, e.g. "POST /api/v4/projects/{id}/deploy_tokens". */
  readonly operation: string | undefined;
  readonly at: number;
  status: number;
}

export type GitLabTokenKind = "deploy" | "access";

export interface GitLabToken {
  readonly id: number;
  readonly kind: GitLabTokenKind;
  readonly resourceType: "project" | "group";
  /** The `{id}` of the URL, decoded (an ID or a full path). */
  readonly resource: string;
  readonly name: string;
  readonly scopes: readonly string[];
  /** Deploy tokens: their username; access tokens: the bot user's name. */
  readonly username: string;
  readonly userId: number;
  /** Date-time for deploy tokens, date for access tokens, as sent. */
  readonly expiresAt: string | undefined;
  /** Instant it stops working (ms), or undefined. */
  readonly expiresAtMs: number | undefined;
  readonly accessLevel: number | undefined;
  readonly description: string | undefined;
  readonly createdAt: number;
  revoked: boolean;
  expired: boolean;
  /** Whether it is an htpasswd user of the registry now. */
  installed: boolean;
}

export const REGISTRY_SCOPES_DEPLOY = ["read_registry"];
export const REGISTRY_SCOPES_ACCESS = ["api", "read_registry", "write_registry"];

/** The API entity (never the token value); fields the description does not let be null are left out when unset. `resourceId` is asked only for access tokens. */
export function gitlabEntity(t: GitLabToken, resourceId: () => number): Record<string, unknown> {
  if (t.kind === "deploy") {
    return {
      id: t.id,
      name: t.name,
      username: t.username,
      ...(t.expiresAt === undefined ? {} : { expires_at: new Date(t.expiresAtMs ?? 0).toISOString() }),
      scopes: t.scopes,
      revoked: t.revoked,
      expired: t.expired,
    };
  }
  return {
    id: t.id,
    name: t.name,
    ...(t.description === undefined ? {} : { description: t.description }),
    revoked: t.revoked,
    created_at: new Date(t.createdAt).toISOString(),
    scopes: t.scopes,
    user_id: t.userId,
    active: !t.revoked && !t.expired,
    // The description types it date-time; GitLab's documentation shows a date ("2026-03-05").
    expires_at: new Date(t.expiresAtMs ?? 0).toISOString(),
    access_level: t.accessLevel,
    resource_type: t.resourceType,
    resource_id: resourceId(),
  };
}

export function opensRegistry(t: GitLabToken): boolean {
  const needed = t.kind === "deploy" ? REGISTRY_SCOPES_DEPLOY : REGISTRY_SCOPES_ACCESS;
  return t.scopes.some((s) => needed.includes(s));
}

export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
