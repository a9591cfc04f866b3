import type { RegistrySource } from "../../model/model.js";

/**
 * Quay robot accounts pullkeeper keeps fresh through Quay's API, as the OAuth application token in
 * `admin`: an organization's robots (`organization`) or a user's (`user`). Quay holds one token
 * per robot and regenerating it ends the old one at once, so two robots take turns: the next
 * token is always the idle robot's, and the previous robot's token is regenerated (and dropped)
 * once nothing uses it.
 */
export interface QuayRobotSource extends RegistrySource {
  readonly type: "quay-robot";
  /** The vault secret holding {"username","password"}: the password is an OAuth token with org:admin (or user:admin for a user's robots). */
  readonly admin: string;
  /** The organization whose robots take turns (exactly one of organization and user). */
  readonly organization?: string;
  /** The user whose robots take turns: the admin token's own user (exactly one of organization and user). */
  readonly user?: string;
  /** The two robots' short names (without `<namespace>+`). */
  readonly robots: readonly [string, string];
  /** Rotation schedule, rate(...) or cron(...). */
  readonly rotation: string;
  /** Quay's base URL; the API is under /api/v1. */
  readonly api: string;
}

/** The organization or user the robots belong to: the part of their login before the `+`. */
export const namespaceOf = (source: QuayRobotSource): string => source.organization ?? source.user ?? "";

/** A robot's registry login: `<namespace>+<shortname>`. */
export const robotLogin = (source: QuayRobotSource, shortname: string): string => `${namespaceOf(source)}+${shortname}`;
