import type { RegistrySource } from "../../model/model.js";

/**
 * JFrog access tokens pullkeeper creates and revokes through the JFrog Platform's Access Tokens
 * API, as the admin access token in `admin`, each for `username`: Artifactory's Docker registries
 * take `docker login -u <username> -p <token>` with any live token of that user. Tokens are
 * independent (any number live at once), so each rotation creates a new one and the revocation
 * revokes the old.
 */
export interface JFrogTokenSource extends RegistrySource {
  readonly type: "jfrog-token";
  /** The vault secret holding the admin login: {"username","password"}, the password an admin access token (sent as a Bearer token). */
  readonly admin: string;
  /** The JFrog Platform's base URL (`https://acme.jfrog.io`); the API is under `/access/api/v1`. */
  readonly api: string;
  /** The user each token is issued for, and the username consumers log in with. */
  readonly username: string;
  /** The token's scope: `applied-permissions/user` (the user's own permissions) or `applied-permissions/groups:<g1>,<g2>`. */
  readonly scope: string;
  /** How long a token lives (`expires_in`), in seconds. */
  readonly lifetime: number;
  /** Rotation schedule, rate(...) or cron(...). */
  readonly rotation: string;
}
