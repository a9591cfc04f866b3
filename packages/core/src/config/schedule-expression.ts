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
  if (typeof expression !== "string") throw invalid(String(expression), "expected a string");
  if (expression.startsWith("rate(")) return parseRate(expression, options.anchor ?? new Date(0));
  if (expression.startsWith("cron(")) return parseCron(expression);
  throw invalid(expression, "expected rate(<value> <unit>) or cron(<Minutes> <Hours> <Day-of-month> <Month> <Day-of-week> <Year>)");
}

function invalid(expression: string, problem: string): InvalidInputError {
  return new InvalidInputError(`schedule expression "${expression}" is not valid: ${problem}`, [problem]);
}

function checkAfter(expression: string, after: Date): number {
  const t = after instanceof Date ? after.getTime() : Number.NaN;
  if (Number.isNaN(t)) throw new InvalidInputError(`${expression}: next() needs a valid Date`);
  return t;
}

// ---------------------------------------------------------------------------------------- rate()

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

function parseRate(expression: string, anchor: Date): Schedule {
  const match = /^rate\((\S+) (\S+)\)$/.exec(expression);
  if (!match) throw invalid(expression, "expected rate(<value> <unit>), e.g. rate(5 minutes), with one space and nothing around it");
  const [, valueText = "", unitText = ""] = match;
  if (!/^\d+$/.test(valueText)) throw invalid(expression, `the value "${valueText}" must be a positive whole number`);
  const value = Number(valueText);
  if (value < 1) throw invalid(expression, "the value must be 1 or more");
  const singular = unitText.endsWith("s") ? unitText.slice(0, -1) : unitText;
  if (!Object.hasOwn(UNIT_MS, singular)) throw invalid(expression, `the unit "${unitText}" must be one of minute(s), hour(s), day(s)`);
  const unit = singular as Unit;
  if (value === 1 && unitText !== unit) throw invalid(expression, `use the singular unit "${unit}" when the value is 1: rate(1 ${unit})`);
  if (value > 1 && unitText === unit) throw invalid(expression, `use the plural unit "${unit}s" when the value is greater than 1: rate(${value} ${unit}s)`);
  const period = value * UNIT_MS[unit];
  if (!Number.isSafeInteger(period) || period > 8.64e15) throw invalid(expression, "the period is too long");
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

// ---------------------------------------------------------------------------------------- cron()

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
/** EventBridge accepts years 1970-2199; a schedule never fires after 2199. */
const MAX_YEAR = 2199;
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface FieldSpec {
  readonly name: "Minutes" | "Hours" | "Day-of-month" | "Month" | "Day-of-week" | "Year";
  readonly min: number;
  readonly max: number;
  /** Names for min, min+1, … (months and days of week). */
  readonly names?: readonly string[];
  /** Characters allowed besides digits, `*`, `,`, `-`, `/` (and letters when `names`). */
  readonly extra: string;
}

const MINUTES: FieldSpec = { name: "Minutes", min: 0, max: 59, extra: "" };
const HOURS: FieldSpec = { name: "Hours", min: 0, max: 23, extra: "" };
const DAY_OF_MONTH: FieldSpec = { name: "Day-of-month", min: 1, max: 31, extra: "?LW" };
const MONTH: FieldSpec = { name: "Month", min: 1, max: 12, names: MONTH_NAMES, extra: "" };
const DAY_OF_WEEK: FieldSpec = { name: "Day-of-week", min: 1, max: 7, names: DAY_NAMES, extra: "?L#" };
const YEAR: FieldSpec = { name: "Year", min: 1970, max: MAX_YEAR, extra: "" };

/** A problem in one field, turned into an InvalidInputError naming the expression by the caller. */
class FieldError extends Error {}

function fieldError(spec: FieldSpec, problem: string): FieldError {
  return new FieldError(`${spec.name}: ${problem}`);
}

function checkCharacters(text: string, spec: FieldSpec): void {
  const letters = spec.names ? "A-Za-z" : "";
  const extra = spec.extra.replace(/[\\\]^-]/g, "\\$&");
  const bad = new RegExp(`[^0-9*,/\\-${letters}${extra}]`).exec(text);
  if (bad) {
    const allowed = `digits${spec.names ? ", names" : ""} and * , - /${spec.extra ? ` ${spec.extra.split("").join(" ")}` : ""}`;
    throw fieldError(spec, `"${bad[0]}" is not allowed in "${text}" (allowed: ${allowed})`);
  }
}

function parseValue(text: string, spec: FieldSpec): number {
  let value: number;
  if (/^\d+$/.test(text)) value = Number(text);
  else {
    const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
    if (index < 0) {
      const hint = spec.names ? ` (expected ${spec.min}-${spec.max} or ${spec.names[0]}-${spec.names[spec.names.length - 1]})` : ` (expected ${spec.min}-${spec.max})`;
      throw fieldError(spec, `"${text}" is not a value${hint}`);
    }
    value = spec.min + index;
  }
  if (value < spec.min || value > spec.max) throw fieldError(spec, `${value} is out of range ${spec.min}-${spec.max}`);
  return value;
}

/** Expands `*`, lists, ranges and steps (Quartz semantics: `a/s` = a through max, every s). */
function parseList(text: string, spec: FieldSpec): number[] {
  checkCharacters(text, spec);
  if (/[?LW#]/.test(text.replace(/[A-Za-z]{3}/g, (n) => (spec.names?.includes(n.toUpperCase()) ? "" : n)))) {
    throw fieldError(spec, `"${text}": ? L W # must stand alone, as documented for EventBridge`);
  }
  const values = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") throw fieldError(spec, `"${text}" has an empty list item`);
    const parts = item.split("/");
    if (parts.length > 2) throw fieldError(spec, `"${item}" has more than one /`);
    const [base = "", stepText] = parts;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw fieldError(spec, `the step in "${item}" must be a whole number of 1 or more`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (base === "*") [from, to] = [spec.min, spec.max];
    else {
      const bounds = base.split("-");
      if (bounds.length > 2 || bounds.some((b) => b === "")) throw fieldError(spec, `"${item}" is not a value, a range a-b or a step a/n`);
      from = parseValue(bounds[0] ?? "", spec);
      to = bounds[1] === undefined ? (stepText === undefined ? from : spec.max) : parseValue(bounds[1], spec);
      if (from > to) throw fieldError(spec, `the range "${base}" runs backwards (wrap-around ranges are not supported)`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

/** cron-parser's text for a set of values: `*` when complete, else an explicit list. */
function listText(values: readonly number[], spec: FieldSpec, shift = 0): string {
  if (values.length === spec.max - spec.min + 1) return "*";
  return values.map((v) => v + shift).join(",");
}

function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}

/** The `nW` / `LW` day in a month (Quartz rules: never leaves the month), or undefined if n does not exist. */
function weekdayNear(year: number, month0: number, day: number | "L"): number | undefined {
  const last = daysInMonth(year, month0);
  const n = day === "L" ? last : day;
  if (n > last) return undefined;
  const dow = new Date(Date.UTC(year, month0, n)).getUTCDay();
  if (dow === 6) return n === 1 ? 3 : n - 1;
  if (dow === 0) return n === last ? n - 2 : n + 1;
  return n;
}

interface CronPlan {
  /** Six-field (with seconds) expression for cron-parser, Sunday = 0. */
  readonly text: string;
  /** Allowed years, ascending; undefined = every year. */
  readonly years: readonly number[] | undefined;
  /** Day-of-month `nW` / `LW`: cron-parser sees `*`, this picks the day. */
  readonly weekday: number | "L" | undefined;
}

function planCron(fields: readonly string[]): CronPlan {
  const [minText = "", hourText = "", domText = "", monthText = "", dowText = "", yearText = ""] = fields;
  const minutes = parseList(minText, MINUTES);
  const hours = parseList(hourText, HOURS);
  const months = parseList(monthText, MONTH);
  const years = yearText === "*" ? undefined : parseList(yearText, YEAR);

  if (domText === "?" && dowText === "?") throw new FieldError("Day-of-month and Day-of-week cannot both be ?: one of them must name the days");
  if (domText !== "?" && dowText !== "?") throw new FieldError(`one of Day-of-month ("${domText}") and Day-of-week ("${dowText}") must be ?`);

  let dom = "*";
  let dow = "*";
  let weekday: number | "L" | undefined;
  if (domText !== "?") {
    checkCharacters(domText, DAY_OF_MONTH);
    const w = /^(\d+)W$/.exec(domText);
    if (domText === "L") dom = "L";
    else if (domText === "LW") weekday = "L";
    else if (w) weekday = parseValue(w[1] ?? "", DAY_OF_MONTH);
    else if (/^L-\d+$/.test(domText)) throw fieldError(DAY_OF_MONTH, `"${domText}" (offset from the last day) is not supported; use L, LW or a day number`);
    else if (/[LW]/.test(domText)) throw fieldError(DAY_OF_MONTH, `"${domText}": L and W must stand alone, as L, LW or <day>W (e.g. 15W)`);
    else {
      const days = parseList(domText, DAY_OF_MONTH);
      const longest = Math.max(...months.map((m) => MAX_DAYS[m - 1] ?? 31));
      if ((days[0] ?? 1) > longest) throw fieldError(DAY_OF_MONTH, `day ${days[0]} never occurs in Month "${monthText}"`);
      dom = listText(days, DAY_OF_MONTH);
    }
    if (typeof weekday === "number") {
      const day = weekday;
      if (!months.some((m) => day <= (MAX_DAYS[m - 1] ?? 31))) throw fieldError(DAY_OF_MONTH, `day ${day} never occurs in Month "${monthText}"`);
    }
  } else {
    checkCharacters(dowText, DAY_OF_WEEK);
    const last = /^([0-9A-Za-z]+)L$/.exec(dowText);
    const nth = /^([0-9A-Za-z]+)#(\d+)$/.exec(dowText);
    if (dowText === "L") dow = "6"; // the last day of the week: Saturday
    else if (last) dow = `${parseValue(last[1] ?? "", DAY_OF_WEEK) - 1}L`;
    else if (nth) {
      const k = Number(nth[2]);
      if (k < 1 || k > 5) throw fieldError(DAY_OF_WEEK, `"${dowText}": the occurrence after # must be 1-5`);
      dow = `${parseValue(nth[1] ?? "", DAY_OF_WEEK) - 1}#${k}`;
    } else if (/[L#]/.test(dowText.replace(/[A-Za-z]{3}/g, (n) => (DAY_NAMES.includes(n.toUpperCase()) ? "" : n)))) {
      throw fieldError(DAY_OF_WEEK, `"${dowText}": L and # must stand alone, as L, <day>L (e.g. 6L, FRIL) or <day>#<n> (e.g. 2#1, MON#1)`);
    } else dow = listText(parseList(dowText, DAY_OF_WEEK), DAY_OF_WEEK, -1);
  }

  const text = ["0", listText(minutes, MINUTES), listText(hours, HOURS), dom, listText(months, MONTH), dow].join(" ");
  return { text, years, weekday };
}

function parseCron(expression: string): Schedule {
  const match = /^cron\((.*)\)$/.exec(expression);
  if (!match) throw invalid(expression, "expected cron(<Minutes> <Hours> <Day-of-month> <Month> <Day-of-week> <Year>)");
  const fields = (match[1] ?? "").split(" ");
  if (fields.length !== 6 || fields.some((f) => f === "")) {
    throw invalid(expression, `expected six fields separated by single spaces (Minutes Hours Day-of-month Month Day-of-week Year), got ${fields.filter((f) => f !== "").length}`);
  }
  let plan: CronPlan;
  try {
    plan = planCron(fields);
    CronExpressionParser.parse(plan.text, { tz: "UTC", currentDate: new Date(0), strict: false });
  } catch (error) {
    const problem = error instanceof FieldError ? error.message : `cron-parser refused the translation: ${error instanceof Error ? error.message : String(error)}`;
    throw invalid(expression, problem);
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
