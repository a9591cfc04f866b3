import type { z } from "zod";

/** Lifetimes of the credentials a source makes, checked the same way for every source. */

const DAY = 86_400;

/** The interval of a rate(...) schedule in seconds; undefined for cron(...), whose gaps vary. */
export function rateSeconds(schedule: string): number | undefined {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule);
  return match ? Number(match[1]) * { minute: 60, hour: 3600, day: DAY }[match[2] as "minute" | "hour" | "day"] : undefined;
}

/** The problem with a lifetime of `lifetime` s for a rotation whose longest gap is `gap` s, if any. */
export function lifetimeGapProblem(lifetime: number, rotation: string, gap: number): string | undefined {
  if (lifetime >= 2 * gap) return undefined;
  const what = rateSeconds(rotation) !== undefined ? "the rotation interval" : `the longest gap between the rotation's runs (${Math.round(gap / 3600)} h)`;
  return `expected at least twice ${what} (${rotation}), so a credential is replaced by half its life and outlives the overlap before its revocation`;
}

/**
 * A credential must live at least a day, and at least two of the rotation's longest gaps: it is
 * replaced by half its life, as ECR's tokens are (their default margin), and outlives the overlap
 * before its revocation. Reported at `lifetime`. A rate's gap is its interval, checked here; a
 * cron's longest gap takes a year of its runs, too slow for the parse every Lambda makes at cold
 * start: config/schedule-check.ts checks it ahead of time (`pullkeeper validate`, `dev`, the deploy).
 */
export function checkLifetime(source: { readonly lifetime: number; readonly rotation: string }, ctx: z.RefinementCtx): void {
  if (source.lifetime < DAY) ctx.addIssue({ code: "custom", path: ["lifetime"], message: "expected at least 1d: a credential must outlive its delivery and its overlap" });
  const gap = rateSeconds(source.rotation);
  const problem = gap === undefined ? undefined : lifetimeGapProblem(source.lifetime, source.rotation, gap);
  if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["lifetime"], message: problem });
}
