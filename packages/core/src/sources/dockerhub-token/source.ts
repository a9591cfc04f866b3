import type { RegistrySource } from "../../model/model.js";

/**
 * Docker Hub access tokens pullkeeper makes and deletes through Docker Hub's API, as the admin
 * login in `admin` (a user with its password or a PAT): organization access tokens when
 * `organization` is set, the admin's own personal access tokens otherwise. Tokens are independent
 * (any number live at once), so each rotation makes a new one and the revocation deletes the old.
 */
export interface DockerHubTokenSource extends RegistrySource {
  readonly type: "dockerhub-token";
  /** The vault secret holding the admin login: {"username","password"} (a password or a PAT that may manage tokens). */
  readonly admin: string;
  /** Make organization access tokens of this organization (the login's username is the organization's name). */
  readonly organization?: string;
  /** An organization token's repositories (`acme/app`, `acme/*`, or `*\/*\/public`), each given image pull only. */
  readonly repositories?: readonly string[];
  /** How long a token lives (`expires_at`), in seconds. */
  readonly lifetime: number;
  /** Rotation schedule, rate(...) or cron(...). */
  readonly rotation: string;
  /** The API's base URL. */
  readonly api: string;
}
