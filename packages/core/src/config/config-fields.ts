import * as z from "zod";
import { parseDuration } from "../model/duration.js";
import { checkScheduleSyntax } from "./schedule-syntax.js";

/**
 * Config fields more than one schema uses: the top-level config (config-schema.ts) and the
 * sources' own schemas (sources/<type>/module.ts), which cannot import config-schema.ts (it
 * imports them).
 */

/** "90s", "30m", "6h", "1d" as seconds. */
export const duration = z.string().transform((text, ctx) => {
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds <= 0) {
    ctx.addIssue({ code: "custom", message: 'expected a duration such as "90s", "30m", "6h" or "1d"' });
    return z.NEVER;
  }
  return seconds;
});

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]{1,512}$/;
const SECRET_NAME = /^[\w/+=.@-]{1,512}$/;

/** A Secrets Manager secret (the vault's on this machine), by ARN or name. */
export const secretId = z.string().refine((s) => SECRET_ARN.test(s) || (SECRET_NAME.test(s) && !s.startsWith("arn:")), "expected a Secrets Manager secret ARN or name");

/**
 * An EventBridge schedule expression, checked as the scheduler reads it (schedule-syntax.ts):
 * `rate(1 minute|hour|day)` or `rate(N minutes|hours|days)` with N ≥ 2, or a six-field `cron(...)`
 * whose every field is valid (not `cron(0 0 31 2 ? *)`). Whether a cron fires again after now
 * takes its runs: every Lambda parses the config at cold start, so that check is made ahead of
 * time instead (schedule-check.ts: `pullkeeper validate`, `dev` and the deploy).
 */
const RATE = /^rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9]\d+) (?:minutes|hours|days))\)$/;

export const schedule = z.string().superRefine((expression, ctx) => {
  // The scheduler reads rate(0 days) and rate(01 hour) as well; EventBridge does not.
  if (expression.startsWith("rate(") && !RATE.test(expression)) {
    ctx.addIssue({ code: "custom", message: `"${expression}": expected rate(1 minute|hour|day) or rate(N minutes|hours|days) with N ≥ 2, as EventBridge takes them` });
    return;
  }
  try {
    checkScheduleSyntax(expression);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : `"${expression}" is not a schedule expression` });
  }
});
