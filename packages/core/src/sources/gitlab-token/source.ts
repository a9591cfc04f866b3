import type { RegistrySource } from "../../model/model.js";

/**
 * GitLab tokens that open a project's or a group's container registry, made and revoked through
 * GitLab's REST API as the admin token in `admin`: deploy tokens (`read_registry`) by default, or
 * project/group access tokens. Tokens are independent (any number live at once), so each rotation
 * makes a new one and the revocation deletes (deploy) or revokes (access) the old.
 */
export interface GitLabTokenSource extends RegistrySource {
  readonly type: "gitlab-token";
  /** The vault secret whose password is a GitLab token with the `api` scope (sent as PRIVATE-TOKEN); its username is not used. */
  readonly admin: string;
  /** The project whose registry the tokens open: its numeric ID or full path (`acme/web`). Exactly one of project and group. */
  readonly project?: string;
  /** The group whose registries the tokens open: its numeric ID (or, for access tokens, its full path). */
  readonly group?: string;
  /** Which token GitLab makes. */
  readonly kind: GitLabTokenKind;
  /** How long a token lives (`expires_at`), in seconds. */
  readonly lifetime: number;
  /** Rotation schedule, rate(...) or cron(...). */
  readonly rotation: string;
  /** The GitLab instance's base URL (the API is under /api/v4). */
  readonly api: string;
}

export type GitLabTokenKind = "deploy-token" | "access-token";
