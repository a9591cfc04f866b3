import type { z } from "zod";

/** Lifetimes of the credentials a source makes, checked the same way for every source. */

const DAY = 86_400;

/** The interval of a rate(...) schedule in seconds; undefined for cron(...), whose gaps vary. */
export function rateSeconds(schedule: string): number | undefined {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule);
  return match ? Number(match[1]) * { minute: 60, hour: 3600, day: DAY }[match[2] as "minute" | "hour" | "day"] : undefined;
}

/**
 * A credential must live at least a day, and at least two rotation intervals: it outlives the next
 * rotation and the overlap before its revocation. Reported at `lifetime`.
 */
export function checkLifetime(source: { readonly lifetime: number; readonly rotation: string }, ctx: z.RefinementCtx): void {
  if (source.lifetime < DAY) ctx.addIssue({ code: "custom", path: ["lifetime"], message: "expected at least 1d: a credential must outlive its delivery and its overlap" });
  const interval = rateSeconds(source.rotation);
  if (interval !== undefined && source.lifetime < 2 * interval) {
    ctx.addIssue({ code: "custom", path: ["lifetime"], message: `expected at least twice the rotation interval (${source.rotation}), so a credential outlives the next rotation and the overlap before its revocation` });
  }
}
