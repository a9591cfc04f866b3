import { InvalidInputError } from "../model/errors.js";
import { describe, expect, it } from "vitest";
import { parseSchedule } from "./schedule-expression.js";

/** The first `count` occurrences after `from`, as ISO strings without seconds. */
function upcoming(expression: string, from: string, count = 4, anchor?: Date): string[] {
  const schedule = parseSchedule(expression, anchor ? { anchor } : {});
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < count; i++) {
    at = schedule.next(at);
    out.push(at.toISOString());
  }
  return out;
}

function problemOf(expression: string): string {
  try {
    parseSchedule(expression);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error(`${expression} was accepted`);
}

/** The expression is refused with a message that quotes it, says it is not valid and names the problem. */
function expectRefused(expression: string, problem: string): void {
  const message = problemOf(expression);
  expect(message).toContain(`"${expression}" is not valid`);
  expect(message).toContain(problem);
}

describe("rate()", () => {
  it.each([
    ["rate(1 minute)", ["2024-02-10T10:08:00.000Z", "2024-02-10T10:09:00.000Z", "2024-02-10T10:10:00.000Z"]],
    ["rate(5 minutes)", ["2024-02-10T10:10:00.000Z", "2024-02-10T10:15:00.000Z", "2024-02-10T10:20:00.000Z"]],
    ["rate(1 hour)", ["2024-02-10T11:00:00.000Z", "2024-02-10T12:00:00.000Z", "2024-02-10T13:00:00.000Z"]],
    ["rate(2 hours)", ["2024-02-10T12:00:00.000Z", "2024-02-10T14:00:00.000Z", "2024-02-10T16:00:00.000Z"]],
    ["rate(1 day)", ["2024-02-11T00:00:00.000Z", "2024-02-12T00:00:00.000Z", "2024-02-13T00:00:00.000Z"]],
    // 2024-02-10 is day 19 763 after the epoch (≡ 2 mod 3): the 3-day grid holds the 8th, 11th, 14th…
    ["rate(3 days)", ["2024-02-11T00:00:00.000Z", "2024-02-14T00:00:00.000Z", "2024-02-17T00:00:00.000Z"]],
  ])("%s ticks on multiples of the period counted from the epoch", (expression, expected) => {
    expect(upcoming(expression, "2024-02-10T10:07:30.500Z", 3)).toEqual(expected);
  });

  it("returns a time strictly after `after`, even when `after` is a tick", () => {
    expect(parseSchedule("rate(15 minutes)").next(new Date("2024-02-10T10:15:00.000Z")).toISOString()).toBe("2024-02-10T10:30:00.000Z");
  });

  it("counts from the anchor when one is given (EventBridge: from creation time)", () => {
    const anchor = new Date("2024-02-10T10:07:30.000Z");
    expect(upcoming("rate(5 minutes)", "2024-02-10T10:07:30.000Z", 2, anchor)).toEqual(["2024-02-10T10:12:30.000Z", "2024-02-10T10:17:30.000Z"]);
    expect(upcoming("rate(1 day)", "2024-02-12T00:00:00.000Z", 1, anchor)).toEqual(["2024-02-12T10:07:30.000Z"]);
  });

  it.each([
    ["rate(1 minutes)", 'use the singular unit "minute" when the value is 1'],
    ["rate(1 hours)", 'use the singular unit "hour"'],
    ["rate(1 days)", 'use the singular unit "day"'],
    ["rate(5 minute)", 'use the plural unit "minutes" when the value is greater than 1'],
    ["rate(2 hour)", 'use the plural unit "hours"'],
    ["rate(3 day)", 'use the plural unit "days"'],
    ["rate(0 minutes)", "the value must be 1 or more"],
    ["rate(-5 minutes)", "must be a positive whole number"],
    ["rate(1.5 hours)", "must be a positive whole number"],
    ["rate(5 weeks)", 'the unit "weeks" must be one of minute(s), hour(s), day(s)'],
    ["rate(5 Minutes)", 'the unit "Minutes"'],
    ["rate(5 toStrings)", 'the unit "toStrings"'],
    ["rate(5minutes)", "expected rate(<value> <unit>)"],
    ["rate(5  minutes)", "expected rate(<value> <unit>)"],
  ])("refuses %s", expectRefused);
});

describe("cron()", () => {
  const from = "2024-02-10T10:07:30.500Z"; // a Saturday

  it("cron(0 12 * * ? *): every day at 12:00 UTC", () => {
    expect(upcoming("cron(0 12 * * ? *)", from, 3)).toEqual(["2024-02-10T12:00:00.000Z", "2024-02-11T12:00:00.000Z", "2024-02-12T12:00:00.000Z"]);
  });

  it("cron(15 10 ? * MON-FRI *): weekdays at 10:15, skipping the weekend", () => {
    expect(upcoming("cron(15 10 ? * MON-FRI *)", from, 6)).toEqual([
      "2024-02-12T10:15:00.000Z",
      "2024-02-13T10:15:00.000Z",
      "2024-02-14T10:15:00.000Z",
      "2024-02-15T10:15:00.000Z",
      "2024-02-16T10:15:00.000Z",
      "2024-02-19T10:15:00.000Z",
    ]);
  });

  it("numeric days of week count from SUN = 1, as in EventBridge", () => {
    expect(upcoming("cron(15 10 ? * 2-6 *)", from, 6)).toEqual(upcoming("cron(15 10 ? * MON-FRI *)", from, 6));
    expect(upcoming("cron(0 0 ? * 1 *)", from, 1)).toEqual(["2024-02-11T00:00:00.000Z"]); // Sunday
    expect(upcoming("cron(0 0 ? * 7 *)", from, 1)).toEqual(["2024-02-17T00:00:00.000Z"]); // Saturday
    // 2/2 = MON, WED, FRI (2, 4, 6): a start/step stays inside the week and never reaches SUN.
    expect(upcoming("cron(0 0 ? * 2/2 *)", from, 4).map((d) => new Date(d).getUTCDay())).toEqual([1, 3, 5, 1]);
  });

  it("cron(0/15 * * * ? *): every quarter hour", () => {
    expect(upcoming("cron(0/15 * * * ? *)", from, 4)).toEqual(["2024-02-10T10:15:00.000Z", "2024-02-10T10:30:00.000Z", "2024-02-10T10:45:00.000Z", "2024-02-10T11:00:00.000Z"]);
    expect(upcoming("cron(5/20 * * * ? *)", from, 3)).toEqual(["2024-02-10T10:25:00.000Z", "2024-02-10T10:45:00.000Z", "2024-02-10T11:05:00.000Z"]);
  });

  it("cron(0 0 31 * ? *): only the months that have a 31st, never a rolled-over date", () => {
    expect(upcoming("cron(0 0 31 * ? *)", from, 3)).toEqual(["2024-03-31T00:00:00.000Z", "2024-05-31T00:00:00.000Z", "2024-07-31T00:00:00.000Z"]);
  });

  it("cron(0 8 1 * ? *): 08:00 on the first of each month", () => {
    expect(upcoming("cron(0 8 1 * ? *)", from, 3)).toEqual(["2024-03-01T08:00:00.000Z", "2024-04-01T08:00:00.000Z", "2024-05-01T08:00:00.000Z"]);
  });

  it("lists, ranges, month names and lower-case names", () => {
    expect(upcoming("cron(0,30 9-10 ? jan,Feb sat *)", from, 4)).toEqual(["2024-02-10T10:30:00.000Z", "2024-02-17T09:00:00.000Z", "2024-02-17T09:30:00.000Z", "2024-02-17T10:00:00.000Z"]);
  });

  it("L: the last day of the month, or Saturday in Day-of-week; <day>L: the last such day", () => {
    expect(upcoming("cron(0 0 L * ? *)", from, 3)).toEqual(["2024-02-29T00:00:00.000Z", "2024-03-31T00:00:00.000Z", "2024-04-30T00:00:00.000Z"]);
    expect(upcoming("cron(0 0 ? * L *)", from, 2)).toEqual(["2024-02-17T00:00:00.000Z", "2024-02-24T00:00:00.000Z"]);
    expect(upcoming("cron(0 0 ? * 6L *)", from, 2)).toEqual(["2024-02-23T00:00:00.000Z", "2024-03-29T00:00:00.000Z"]); // last Friday
    expect(upcoming("cron(0 0 ? * FRIL *)", from, 2)).toEqual(["2024-02-23T00:00:00.000Z", "2024-03-29T00:00:00.000Z"]);
  });

  it("#: the nth such day of the month", () => {
    expect(upcoming("cron(0 0 ? * 3#2 *)", from, 2)).toEqual(["2024-02-13T00:00:00.000Z", "2024-03-12T00:00:00.000Z"]); // second Tuesday
    expect(upcoming("cron(0 9 ? * MON#1 *)", from, 2)).toEqual(["2024-03-04T09:00:00.000Z", "2024-04-01T09:00:00.000Z"]);
  });

  it("W: the weekday nearest the day, never leaving the month; LW: the last weekday", () => {
    // 15 Feb 2024 is a Thursday, 15 Jun 2024 a Saturday (→ Fri 14), 15 Sep 2024 a Sunday (→ Mon 16).
    expect(upcoming("cron(0 0 15W * ? *)", from, 1)).toEqual(["2024-02-15T00:00:00.000Z"]);
    expect(upcoming("cron(0 0 15W * ? *)", "2024-06-01T00:00:00Z", 1)).toEqual(["2024-06-14T00:00:00.000Z"]);
    expect(upcoming("cron(0 0 15W * ? *)", "2024-09-01T00:00:00Z", 1)).toEqual(["2024-09-16T00:00:00.000Z"]);
    // 1 Jun 2024 is a Saturday: 1W is Monday the 3rd, not Friday 31 May.
    expect(upcoming("cron(0 0 1W * ? *)", "2024-05-20T00:00:00Z", 1)).toEqual(["2024-06-03T00:00:00.000Z"]);
    // 31 Mar 2024 is a Sunday: LW is Friday the 29th.
    expect(upcoming("cron(0 0 LW * ? *)", "2024-03-01T00:00:00Z", 1)).toEqual(["2024-03-29T00:00:00.000Z"]);
    // 31W skips the months without a 31st.
    expect(upcoming("cron(0 0 31W * ? *)", "2024-04-01T00:00:00Z", 1)).toEqual(["2024-05-31T00:00:00.000Z"]);
  });

  it("the Year field restricts the years, and a schedule past its last year has no next time", () => {
    expect(upcoming("cron(0 0 1 1 ? 2026,2030-2031)", from, 3)).toEqual(["2026-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z", "2031-01-01T00:00:00.000Z"]);
    expect(() => upcoming("cron(0 0 1 1 ? 2026,2030-2031)", from, 4)).toThrow(/has no occurrence after 2031-01-01/);
    expect(upcoming("cron(0 0 29 2 ? *)", from, 2)).toEqual(["2024-02-29T00:00:00.000Z", "2028-02-29T00:00:00.000Z"]);
  });

  it.each([
    ["cron(0 12 * * * *)", 'one of Day-of-month ("*") and Day-of-week ("*") must be ?'],
    ["cron(0 12 1 * MON *)", "one of Day-of-month"],
    ["cron(0 12 ? * ? *)", "cannot both be ?"],
    ["cron(0 12 * * ?)", "expected six fields"],
    ["cron(0 12 * * ? * *)", "expected six fields"],
    ["cron(0  12 * * ? *)", "expected six fields"],
    ["cron(60 12 * * ? *)", "Minutes: 60 is out of range 0-59"],
    ["cron(0 24 * * ? *)", "Hours: 24 is out of range 0-23"],
    ["cron(0 0 32 * ? *)", "Day-of-month: 32 is out of range 1-31"],
    ["cron(0 0 * 13 ? *)", "Month: 13 is out of range 1-12"],
    ["cron(0 0 ? * 0 *)", "Day-of-week: 0 is out of range 1-7"],
    ["cron(0 0 ? * 8 *)", "Day-of-week: 8 is out of range 1-7"],
    ["cron(0 0 * * ? 1969)", "Year: 1969 is out of range 1970-2199"],
    ["cron(0 0 ? FOO * *)", 'Month: "FOO" is not a value'],
    ["cron(0 0 ? * FUNDAY *)", 'Day-of-week: "FUNDAY"'],
    ["cron(L 0 * * ? *)", 'Minutes: "L" is not allowed'],
    ["cron(0 0 ? * # *)", 'Day-of-week: "#"'],
    ["cron(0 0 ? * FRI-MON *)", 'Day-of-week: the range "FRI-MON" runs backwards'],
    ["cron(0/0 * * * ? *)", "Minutes: the step in \"0/0\" must be a whole number of 1 or more"],
    ["cron(0 0 L-3 * ? *)", 'Day-of-month: "L-3" (offset from the last day) is not supported'],
    ["cron(0 0 1,15W * ? *)", "Day-of-month: \"1,15W\": L and W must stand alone"],
    ["cron(0 0 ? * 2#1,3 *)", "Day-of-week: \"2#1,3\": L and # must stand alone"],
    ["cron(0 0 ? * 2#6 *)", "Day-of-week: \"2#6\": the occurrence after # must be 1-5"],
    ["cron(0 0 30 2 ? *)", 'Day-of-month: day 30 never occurs in Month "2"'],
    ["cron(0 0 29 2 ? 2025)", "it never fires"],
    ["cron(0 0 1,,2 * ? *)", "has an empty list item"],
    ["every 5 minutes", "expected rate(<value> <unit>) or cron("],
    ["cron(0 12 * * ? *) ", "expected cron("],
  ])("refuses %s, naming the problem", expectRefused);

  it("puts the problem in InvalidInputError.issues", () => {
    try {
      parseSchedule("cron(0 24 * * ? *)");
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidInputError).issues).toEqual(["Hours: 24 is out of range 0-23"]);
      expect((error as InvalidInputError).code).toBe("invalid_input");
    }
  });
});
