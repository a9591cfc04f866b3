import { InvalidInputError } from "../model/errors.js";

/**
 * The syntax of EventBridge schedule expressions (schedule-expression.ts says which): rate() and
 * the six fields of cron(), validated and expanded without computing a single run.
 */

// ---------------------------------------------------------------------------------------- rate()

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** The period of a valid rate() expression in ms; throws InvalidInputError naming the problem. */
export function ratePeriodMs(expression: string): number {
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
  return period;
}

// ---------------------------------------------------------------------------------------- cron()

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
/** EventBridge accepts years 1970-2199; a schedule never fires after 2199. */
export const MAX_YEAR = 2199;
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
export function weekdayNear(year: number, month0: number, day: number | "L"): number | undefined {
  const last = daysInMonth(year, month0);
  const n = day === "L" ? last : day;
  if (n > last) return undefined;
  const dow = new Date(Date.UTC(year, month0, n)).getUTCDay();
  if (dow === 6) return n === 1 ? 3 : n - 1;
  if (dow === 0) return n === last ? n - 2 : n + 1;
  return n;
}

export interface CronPlan {
  /** Six-field (with seconds) expression for cron-parser, Sunday = 0. */
  readonly text: string;
  /** Allowed years, ascending; undefined = every year. */
  readonly years: readonly number[] | undefined;
  /** Day-of-month `nW` / `LW`: cron-parser sees `*`, this picks the day. */
  readonly weekday: number | "L" | undefined;
}

function planFields(fields: readonly string[]): CronPlan {
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

/**
 * The plan of a valid cron() expression; throws InvalidInputError naming the field at fault.
 * Whether it ever fires is not known here: that takes its runs (schedule-expression.ts).
 */
export function cronPlan(expression: string): CronPlan {
  const match = /^cron\((.*)\)$/.exec(expression);
  if (!match) throw invalid(expression, "expected cron(<Minutes> <Hours> <Day-of-month> <Month> <Day-of-week> <Year>)");
  const fields = (match[1] ?? "").split(" ");
  if (fields.length !== 6 || fields.some((f) => f === "")) {
    throw invalid(expression, `expected six fields separated by single spaces (Minutes Hours Day-of-month Month Day-of-week Year), got ${fields.filter((f) => f !== "").length}`);
  }
  try {
    return planFields(fields);
  } catch (error) {
    if (error instanceof FieldError) throw invalid(expression, error.message);
    throw error;
  }
}

/**
 * Checks an EventBridge schedule expression's syntax, every field of a cron() included, without
 * computing a run: cheap enough for every config parse, and free of cron-parser, which only
 * what runs or validates schedules ahead of time loads.
 */
export function checkScheduleSyntax(expression: string): void {
  if (typeof expression !== "string") throw invalid(String(expression), "expected a string");
  if (expression.startsWith("rate(")) ratePeriodMs(expression);
  else if (expression.startsWith("cron(")) cronPlan(expression);
  else throw invalid(expression, "expected rate(<value> <unit>) or cron(<Minutes> <Hours> <Day-of-month> <Month> <Day-of-week> <Year>)");
}

export function invalid(expression: string, problem: string): InvalidInputError {
  return new InvalidInputError(`schedule expression "${expression}" is not valid: ${problem}`, [problem]);
}
