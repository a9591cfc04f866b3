import type { PathIssue } from "./config-issues.js";
import type { PullkeeperConfig } from "./config-document.js";
import { parseSchedule } from "./schedule-expression.js";
import { lifetimeGapProblem, rateSeconds } from "../sources/shared/lifetime.js";

/**
 * The config checks that take a schedule's runs, made where a config is validated ahead of time
 * (`pullkeeper validate`, `pullkeeper dev` at start and reload, the deploy), not at every parse:
 * each Lambda parses the config at cold start, and walking a cron over a year took 117–263 ms
 * per cron source there, besides loading cron-parser and luxon. Pass `scheduleIssues` to
 * checkConfigFile. What the schema checks at every parse: docs/configuration.md ("Schedules").
 */

const DAY_MS = 86_400_000;
/** Enough runs to see a cron's longest gap over a year; one whose runs are closer than this has gaps far below any lifetime. */
const MAX_RUNS = 2_000;

/**
 * The longest wait between two runs of a schedule, in seconds: a rate's interval, or a cron's
 * longest gap over the year from `from` (undefined when it does not parse or never fires: that
 * is reported at the schedule itself).
 */
export function longestGapSeconds(schedule: string, from: Date = new Date()): number | undefined {
  const rate = rateSeconds(schedule);
  if (rate !== undefined) return rate;
  try {
    const parsed = parseSchedule(schedule);
    const end = from.getTime() + 366 * DAY_MS;
    let previous = parsed.next(from);
    let longest = 0;
    for (let runs = 0; runs < MAX_RUNS && previous.getTime() < end; runs++) {
      const next = parsed.next(previous);
      longest = Math.max(longest, (next.getTime() - previous.getTime()) / 1000);
      previous = next;
    }
    return longest;
  } catch {
    return undefined;
  }
}

/** The problem with a schedule that has no run after `now` (a cron that never fires, or whose years are past). */
function firesIssue(expression: string, path: (string | number)[], now: Date): PathIssue[] {
  try {
    parseSchedule(expression).next(now);
    return [];
  } catch (error) {
    return [{ path, message: error instanceof Error ? error.message : `"${expression}" is not a schedule expression` }];
  }
}

const SETTINGS = ["refreshSchedule", "reconcileSchedule", "auditSchedule", "revokeSchedule"] as const;

/**
 * Every schedule of a parsed config that never fires again after `now`, and every source whose
 * credentials would not outlive two of its cron rotation's longest gaps (checkLifetime does a
 * rate's at parse). Paths are the file's, for locateIssues.
 */
export function scheduleIssues(config: PullkeeperConfig, now: Date = new Date()): PathIssue[] {
  const issues = SETTINGS.flatMap((key) => firesIssue(config.settings[key], ["settings", key], now));
  config.registries.forEach((registry, i) => {
    const { rotation, lifetime } = registry.source as { rotation?: unknown; lifetime?: unknown };
    if (typeof rotation !== "string" || !rotation.startsWith("cron(")) return;
    const fires = firesIssue(rotation, ["registries", i, "source", "rotation"], now);
    issues.push(...fires);
    if (fires.length > 0 || typeof lifetime !== "number") return;
    const gap = longestGapSeconds(rotation, now);
    const problem = gap === undefined ? undefined : lifetimeGapProblem(lifetime, rotation, gap);
    if (problem !== undefined) issues.push({ path: ["registries", i, "source", "lifetime"], message: problem });
  });
  return issues;
}
