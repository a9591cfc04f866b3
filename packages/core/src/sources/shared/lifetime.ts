import type { z } from "zod";
import { parseSchedule } from "../../config/schedule-expression.js";

/** Lifetimes of the credentials a source makes, checked the same way for every source. */

const DAY = 86_400;
/** Enough runs to see a cron's longest gap over a year; one whose runs are closer than this has gaps far below any lifetime. */
const MAX_RUNS = 2_000;

/** The interval of a rate(...) schedule in seconds; undefined for cron(...), whose gaps vary. */
export function rateSeconds(schedule: string): number | undefined {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule);
  return match ? Number(match[1]) * { minute: 60, hour: 3600, day: DAY }[match[2] as "minute" | "hour" | "day"] : undefined;
}

/**
 * The longest wait between two runs of a schedule, in seconds: a rate's interval, or a cron's
 * longest gap over the year from `from` (undefined when the schedule does not parse: the schedule
 * field reports that itself).
 */
export function longestGapSeconds(schedule: string, from: Date = new Date()): number | undefined {
  const rate = rateSeconds(schedule);
  if (rate !== undefined) return rate;
  try {
    const parsed = parseSchedule(schedule);
    const end = from.getTime() + 366 * DAY * 1000;
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

/**
 * A credential must live at least a day, and at least two of the rotation's longest gaps: it is
 * replaced by half its life, as ECR's tokens are (their default margin), and outlives the overlap
 * before its revocation. Reported at `lifetime`.
 */
export function checkLifetime(source: { readonly lifetime: number; readonly rotation: string }, ctx: z.RefinementCtx): void {
  if (source.lifetime < DAY) ctx.addIssue({ code: "custom", path: ["lifetime"], message: "expected at least 1d: a credential must outlive its delivery and its overlap" });
  const gap = longestGapSeconds(source.rotation);
  if (gap !== undefined && source.lifetime < 2 * gap) {
    const what = rateSeconds(source.rotation) !== undefined ? "the rotation interval" : `the longest gap between the rotation's runs (${Math.round(gap / 3600)} h)`;
    ctx.addIssue({ code: "custom", path: ["lifetime"], message: `expected at least twice ${what} (${source.rotation}), so a credential is replaced by half its life and outlives the overlap before its revocation` });
  }
}
