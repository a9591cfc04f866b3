import { z } from "zod";
import { parseDuration } from "../model/duration.js";

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

/** An EventBridge schedule expression, as the config accepts it. */
export const SCHEDULE = /^(?:rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9]\d+) (?:minutes|hours|days))\)|cron\(.+\))$/;
export const SCHEDULE_MESSAGE = "expected rate(...) or cron(...) as EventBridge writes them: rate(1 minute|hour|day) or rate(N minutes|hours|days) with N ≥ 2";
