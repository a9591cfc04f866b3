// Why not a library: aws-cron-parser 1.1.12 (npm, MIT, last release December 2024) was evaluated
// against schedule-expression.test.ts (issue 13) and kept out: 31 of the 61 tests passed. Next
// dates it got wrong (expected → its answer):
//   cron(0 0 29 2 ? *)  after 2024-02-29: 2028-02-29 → 2025-03-01 (a missing day rolls into March)
//   cron(0 0 31 * ? *)  after 2024-02-10: 2024-03-31 → 2024-03-02 (Feb "31st"), then 2024-05-01
//   cron(0 0 31W * ? *) after 2024-04-01: 2024-05-31 → 2024-04-30 (leaves the missing day for the 30th)
//   cron(0 0 ? * L *)   (L = Saturday):   2024-02-17 → throws "iter > 10"
//   cron(0 0 LW * ? *)  after 2024-03-01: 2024-03-29 → throws "getDaysOfMonthForW - should not happen"
// It also validates little ("cron is assumed to be validated by AWS already"): it accepts
// cron(0 0 ? FOO * *), ? * FUNDAY, L in Minutes, both day fields *, FRI-MON, 2#6, 1,,2 and 30 February,
// so a validation layer of ours would have stayed nearly as long as this file. It does count days
// of week 1 = SUN and handles # and <day>L correctly, but computes weekdays in local time.
import { InvalidInputError } from "../model/errors.js";
import { CronExpressionParser } from "cron-parser";
import { type CronPlan, checkScheduleSyntax, cronPlan, invalid, MAX_YEAR, ratePeriodMs, weekdayNear } from "./schedule-syntax.js";

/**
 * EventBridge schedule expressions, parsed the way the stacks declare them, so the embedded
 * runtime runs on the same schedule a deploy would:
 *
 * - `rate(<value> <unit>)`: unit `minute`/`hour`/`day` when value is 1, `minutes`/`hours`/`days`
 *   otherwise (EventBridge refuses `rate(1 minutes)` and `rate(5 minute)`; so do we).
 * - `cron(Minutes Hours Day-of-month Month Day-of-week Year)`: six fields, always UTC, exactly one
 *   of Day-of-month / Day-of-week is `?`, Day-of-week 1-7 = SUN-SAT. The fields are validated and
 *   expanded here, then handed to cron-parser (which numbers Sunday 0) as explicit value lists;
 *   `W` and the Year field, which cron-parser has no notion of, are applied on top of its answers.
 *
 * Rate schedules: EventBridge starts counting at the rule's creation time. Locally there is no
 * creation time worth keeping, so ticks fall on multiples of the period counted from `anchor`
 * (default: the Unix epoch), i.e. `rate(15 minutes)` fires at :00, :15, :30 and :45 UTC and
 * `rate(1 day)` at 00:00 UTC — predictable, and the same after every restart. Pass
 * `anchor: new Date()` for EventBridge's "first run one period after creation".
 */
export interface Schedule {
  /** The expression as given. */
  readonly expression: string;
  /**
   * The first occurrence strictly after `after`. Throws InvalidInputError when there is none
   * (only possible for a cron whose Year field lies entirely in the past).
   */
  next(after: Date): Date;
}

export interface ParseScheduleOptions {
  /** rate() only: the instant ticks are counted from (default: 1970-01-01T00:00:00Z). */
  readonly anchor?: Date;
}

/** Parses an EventBridge schedule expression; throws InvalidInputError naming the problem. */
export function parseSchedule(expression: string, options: ParseScheduleOptions = {}): Schedule {
  checkScheduleSyntax(expression);
  return expression.startsWith("rate(") ? parseRate(expression, options.anchor ?? new Date(0)) : parseCron(expression);
}

function checkAfter(expression: string, after: Date): number {
  const t = after instanceof Date ? after.getTime() : Number.NaN;
  if (Number.isNaN(t)) throw new InvalidInputError(`${expression}: next() needs a valid Date`);
  return t;
}

function parseRate(expression: string, anchor: Date): Schedule {
  const period = ratePeriodMs(expression);
  const origin = anchor instanceof Date ? anchor.getTime() : Number.NaN;
  if (Number.isNaN(origin)) throw invalid(expression, "the anchor must be a valid Date");
  return {
    expression,
    next(after: Date): Date {
      const t = checkAfter(expression, after);
      return new Date(origin + (Math.floor((t - origin) / period) + 1) * period);
    },
  };
}

function parseCron(expression: string): Schedule {
  const plan = cronPlan(expression);
  try {
    CronExpressionParser.parse(plan.text, { tz: "UTC", currentDate: new Date(0), strict: false });
  } catch (error) {
    throw invalid(expression, `cron-parser refused the translation: ${error instanceof Error ? error.message : String(error)}`);
  }
  const schedule: Schedule = { expression, next: (after) => nextCron(expression, plan, checkAfter(expression, after)) };
  // A cron that can never fire (29 February in a year list without a leap year, a past year…)
  // is refused here instead of failing later. Searching from 1970 jumps whole years at a time.
  try {
    schedule.next(new Date(Date.UTC(1970, 0, 1) - 1));
  } catch {
    throw invalid(expression, `it never fires: no date up to ${MAX_YEAR} matches every field`);
  }
  return schedule;
}

function nextCron(expression: string, plan: CronPlan, after: number): Date {
  let cursor = after;
  // Each round either returns or jumps forward by at least a day; 10 000 rounds is far more than
  // any expression needs before MAX_YEAR (W skips at most twice a month, years jump at once).
  for (let round = 0; round < 10_000; round++) {
    let next: Date;
    try {
      next = CronExpressionParser.parse(plan.text, { tz: "UTC", currentDate: new Date(cursor) }).next().toDate();
    } catch (error) {
      throw new InvalidInputError(`${expression}: cannot compute the next run after ${new Date(after).toISOString()}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const year = next.getUTCFullYear();
    if (year > MAX_YEAR) break;
    if (plan.years && !plan.years.includes(year)) {
      const nextYear = plan.years.find((y) => y > year);
      if (nextYear === undefined) break;
      cursor = Date.UTC(nextYear, 0, 1) - 1;
      continue;
    }
    if (plan.weekday !== undefined) {
      const month0 = next.getUTCMonth();
      const day = weekdayNear(year, month0, plan.weekday);
      if (day !== next.getUTCDate()) {
        cursor = day !== undefined && day > next.getUTCDate() ? Date.UTC(year, month0, day) - 1 : Date.UTC(year, month0 + 1, 1) - 1;
        continue;
      }
    }
    return next;
  }
  throw new InvalidInputError(`${expression} has no occurrence after ${new Date(after).toISOString()}`);
}
