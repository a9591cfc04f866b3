import * as z from "zod";
import { duration, schedule, secretId } from "./config-fields.js";
import { REGISTRY_KINDS, revokePolicy } from "../model/model.js";
import { SOURCE_MODULES, SOURCE_MODULES_BY_TYPE } from "../source-modules.js";

/**
 * The shape of `pullkeeper.yaml` as zod schemas: registries and their sources, consumers and
 * settings, each key with its own message. What is checked across entries, and how the file's
 * text becomes a PullkeeperConfig, is config.ts.
 */

const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/;
const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * An IANA time zone name as EventBridge Scheduler takes it (`scheduleExpressionTimezone`): one the
 * runtime's time zone database knows, written as the database writes it (the service matches
 * names exactly), not a UTC offset.
 */
const timeZone = z.string().superRefine((name, ctx) => {
  let resolved: string | undefined;
  try {
    resolved = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(name) ? new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone : undefined;
  } catch {
    resolved = undefined;
  }
  if (resolved === undefined) ctx.addIssue({ code: "custom", message: `expected an IANA time zone such as "UTC" or "Europe/Berlin", got "${name}"` });
  else if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) ctx.addIssue({ code: "custom", message: `write the time zone as "${resolved}"` });
});

export { HTPASSWD_EFS_MOUNT_PATH, underHtpasswdMount } from "../sources/htpasswd/module.js";

/**
 * A registry's `source`: one of the registered sources' schemas, told apart by `type`; an unknown
 * type is named with the list (and the nearest, by config-issues.ts).
 */
const source = z.discriminatedUnion("type", SOURCE_MODULES.map((m) => m.schema) as unknown as [z.ZodObject, ...z.ZodObject[]], {
  error: `expected source.type to be one of ${SOURCE_MODULES.map((m) => `"${m.type}"`).join(", ")}`,
});

/** Default maximum overlap of two credentials: a day, long enough for a nightly build or a weekday codespace. */
export const DEFAULT_REVOKE_AFTER_SECONDS = revokePolicy({}).afterSeconds;

const canary = z.string().transform((text, ctx) => {
  const match = /^([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::([\w][\w.-]{0,127})|@(sha256:[a-f0-9]{64}))$/.exec(text);
  if (!match) {
    ctx.addIssue({ code: "custom", message: 'expected an image reference "repository:tag" or "repository@sha256:<digest>"' });
    return z.NEVER;
  }
  return { repository: match[1] as string, reference: (match[2] ?? match[3]) as string };
});

const registry = z
  .strictObject({
    id: z.string().regex(ID, "expected lower-case letters, digits and dashes (at most 63)"),
    host: z.string().regex(HOST, "expected a registry host name, optionally with :port"),
    kind: z.enum(REGISTRY_KINDS),
    source,
    secret: secretId,
    /**
     * When the previous credential is revoked (sources that can revoke: htpasswd). It goes as soon
     * as every consumer holds the new one and a later audit scan found nobody running on it, or
     * once `after` has passed since it stopped being current, whatever still holds it.
     */
    revoke: z
      .strictObject({
        after: duration.default(DEFAULT_REVOKE_AFTER_SECONDS),
        /** A rotation due while the previous credential is still held: wait for it (default) or revoke it first. */
        whenInUse: z.enum(["wait", "revoke"], { error: 'expected "wait" or "revoke"' }).default("wait"),
      })
      .default({ after: DEFAULT_REVOKE_AFTER_SECONDS, whenInUse: "wait" }),
    verify: z
      .strictObject({
        canary: canary.optional(),
        endpoint: z.url({ protocol: /^https?$/, error: "expected an http(s) URL such as https://vpce-123.dkr.ecr.eu-west-1.vpce.amazonaws.com" }).optional(),
      })
      .default({}),
  })
  .superRefine((r, ctx) => {
    const issue = (path: readonly (string | number)[], message: string) => ctx.addIssue({ code: "custom", path: [...path], message });
    SOURCE_MODULES_BY_TYPE.get(r.source.type as string)?.checkRegistry?.({ kind: r.kind, host: r.host, source: r.source as never }, issue);
  });

// Strict, so a misspelt `restart` is an error rather than a consumer that silently never restarts;
// `target` is checked by its kind's own schema (checkConfigFile, consumersFromConfig).
const consumer = z.strictObject({
  id: z.string().regex(ID, "expected lower-case letters, digits and dashes (at most 63)"),
  registry: z.string(),
  target: z.looseObject({ kind: z.string() }),
  /** Opt-in: the audit API may restart this consumer's stale environments. */
  restart: z.boolean({ error: "expected true or false" }).optional(),
});

/**
 * `arn:<partition>:iam::<account>:root`, `...:user/<path/name>` or `...:role/<path/name>`. IAM
 * accepts no wildcard in an AWS principal (other than `*` alone, which this refuses).
 */
export const PRINCIPAL_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:root|(?:user|role)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,128})$/;

/** Why `entry` is not an IAM principal ARN the audit API's roles can trust, or undefined. */
export function principalIssue(entry: string): string | undefined {
  if (/^\d{12}$/.test(entry)) return `"${entry}" is an account ID; write its root as arn:aws:iam::${entry}:root`;
  if (!PRINCIPAL_ARN.test(entry)) return `"${entry}" is not an IAM principal ARN (expected arn:<partition>:iam::<account>:root, :user/<name> or :role/<name>)`;
  return undefined;
}

const principal = z.string().superRefine((entry, ctx) => {
  const issue = principalIssue(entry);
  if (issue !== undefined) ctx.addIssue({ code: "custom", message: issue });
});
const principals = z.array(principal).min(1, "expected at least one principal ARN (leave the key out for the deploy account)");

/**
 * Who may assume the audit API's roles on AWS. In the file, versioned with the rest, so a
 * redeploy cannot silently drop them. A role left out trusts the deploy account's root.
 */
const api = z.strictObject({ readers: principals.optional(), operators: principals.optional() });

const settings = z
  .strictObject({
    refreshSchedule: schedule.default("rate(15 minutes)"),
    reconcileSchedule: schedule.default("rate(15 minutes)"),
    maxJitter: duration.default(300),
    /** Writes per second per provider ("github", "aws:codebuild", "aws:codebuild:eu-west-1"…), on top of the defaults. */
    rateLimits: z.record(z.string().min(1), z.number().positive("expected writes per second, above 0")).default({}),
    /** How often the audit discovers environments and judges them. */
    auditSchedule: schedule.default("rate(15 minutes)"),
    /** Provider clocks vs ours: an environment started this close before a delivery counts as having loaded it. */
    clockSkew: duration.default(5),
    /** How often previous credentials are checked for revocation (on AWS; the embedded runtime also checks after each delivery and scan). */
    revokeSchedule: schedule.default("rate(15 minutes)"),
    /** The time zone the cron() schedules are read in on AWS (EventBridge Scheduler; rate() ignores it). */
    timezone: timeZone.default("UTC"),
    /** The audit API's principals on AWS (stacks/api-access.ts). */
    api: api.optional(),
  })
  .default({ refreshSchedule: "rate(15 minutes)", reconcileSchedule: "rate(15 minutes)", maxJitter: 300, rateLimits: {}, auditSchedule: "rate(15 minutes)", clockSkew: 5, revokeSchedule: "rate(15 minutes)", timezone: "UTC" });

/** The config file's schema (before defaults are folded into PullkeeperConfig); docs/configuration.md is generated from it. */
export const configSchema = z.strictObject({
  registries: z.array(registry).min(1, "expected at least one registry"),
  consumers: z.array(consumer).default([]),
  settings,
});
