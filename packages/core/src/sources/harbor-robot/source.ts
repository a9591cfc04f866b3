import type { RegistrySource } from "../../model/model.js";

/**
 * Harbor robot accounts pullkeeper keeps through Harbor's API (/api/v2.0), as the admin login in
 * `admin`. Harbor holds one secret per robot and a refresh replaces it at once, so two robots take
 * turns: each rotation refreshes the idle one's secret, and the revocation refreshes the previous
 * one's again, keeping nothing, so its old secret stops opening the registry.
 */
export interface HarborRobotSource extends RegistrySource {
  readonly type: "harbor-robot";
  /** The vault secret holding the admin login: {"username","password"} of a Harbor user who may manage the robots (Basic auth). */
  readonly admin: string;
  /** Harbor's URL (https://harbor.example.com); the calls go under /api/v2.0. */
  readonly api: string;
  /** Project robots of this project (pull on its repositories); system robots (pull on every project) when absent. */
  readonly project?: string;
  /** The two robots' names (without Harbor's robot$ prefix), alternated. */
  readonly robots: readonly [string, string];
  /** How long a robot lives from its last issue, in seconds (Harbor counts whole days). */
  readonly lifetime: number;
  /** Rotation schedule, rate(...) or cron(...). */
  readonly rotation: string;
}

/** The prefix Harbor puts before a robot's login name (its default `robot_name_prefix`). */
export const ROBOT_PREFIX = "robot$";

/** The login a robot named `name` has: robot$<project>+<name>, or robot$<name> for a system robot. */
export function robotLogin(source: Pick<HarborRobotSource, "project">, name: string): string {
  return `${ROBOT_PREFIX}${source.project !== undefined ? `${source.project}+` : ""}${name}`;
}
