import { z } from "zod";
import { parseDuration } from "./duration.js";
import { REGISTRY_KINDS, revokePolicy } from "./model.js";
import { awsRegion } from "./suggest.js";

/**
 * The shape of `pullkeeper.yaml` as zod schemas: registries and their sources, consumers and
 * settings, each key with its own message. What is checked across entries, and how the file's
 * text becomes a PullkeeperConfig, is config.ts.
 */

const ACCOUNT_ID = /^\d{12}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]{1,512}$/;
const SECRET_NAME = /^[\w/+=.@-]{1,512}$/;
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/;
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;
const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const HTPASSWD_USER = /^[A-Za-z0-9._@-]{1,64}$/;

const duration = z.string().transform((text, ctx) => {
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds <= 0) {
    ctx.addIssue({ code: "custom", message: 'expected a duration such as "90s", "30m", "6h" or "1d"' });
    return z.NEVER;
  }
  return seconds;
});

const ecrTokenSource = z.strictObject({
  type: z.literal("ecr-token"),
  account: z.string().regex(ACCOUNT_ID, "expected a 12-digit AWS account ID"),
  region: awsRegion,
  roleArn: z.string().regex(ROLE_ARN, "expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)").optional(),
  externalId: z.string().min(2).max(1224).optional(),
  margin: duration.optional(),
});

const managedSecretSource = z.strictObject({ type: z.literal("managed-secret") });

const SCHEDULE = /^(?:rate\(\d+ (?:minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/;
const SCHEDULE_MESSAGE = "expected rate(...) or cron(...) as EventBridge writes them";

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

/** Where the rotation and revoke functions mount an htpasswd registry's EFS access point on AWS (Lambda mounts under /mnt/). */
export const HTPASSWD_EFS_MOUNT_PATH = "/mnt/htpasswd";

/** A file the functions reach through the mount: an absolute path below it, without "." or ".." segments. */
export function underHtpasswdMount(file: string): boolean {
  const rest = file.startsWith(`${HTPASSWD_EFS_MOUNT_PATH}/`) ? file.slice(HTPASSWD_EFS_MOUNT_PATH.length + 1) : undefined;
  return rest !== undefined && rest.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

const htpasswdEfs = z.strictObject({
  fileSystem: z.string().regex(/^fs-[0-9a-f]{8,40}$/, "expected an EFS file system ID such as fs-0123456789abcdef0"),
  accessPoint: z
    .string()
    .regex(/^arn:aws[a-z-]*:elasticfilesystem:[a-z0-9-]+:\d{12}:access-point\/fsap-[0-9a-f]{8,40}$/, "expected an EFS access point ARN (arn:aws:elasticfilesystem:<region>:<account>:access-point/fsap-...)"),
  // Lambda takes up to 16 subnets and 5 security groups.
  subnets: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "expected a subnet ID such as subnet-0123456789abcdef0")).min(1, "expected the subnets the functions reach the mount targets from").max(16, "expected at most 16 subnets (a Lambda limit)"),
  securityGroups: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, "expected a security group ID such as sg-0123456789abcdef0")).min(1, "expected the functions' security groups").max(5, "expected at most 5 security groups (a Lambda limit)"),
});

const htpasswdSource = z.strictObject({
  type: z.literal("htpasswd"),
  file: z.string().min(1, "expected the path of the registry's htpasswd file"),
  users: z
    .tuple([z.string().regex(HTPASSWD_USER, "expected a user name without ':' or spaces"), z.string().regex(HTPASSWD_USER, "expected a user name without ':' or spaces")])
    .refine(([a, b]) => a !== b, "expected two different users to alternate between")
    .default(["pullkeeper-blue", "pullkeeper-green"]),
  rotation: z.string().regex(SCHEDULE, SCHEDULE_MESSAGE).default("rate(1 day)"),
  serve: z.strictObject({ port: z.number().int().min(1).max(65535) }).optional(),
  /** AWS: the EFS access point the functions mount at HTPASSWD_EFS_MOUNT_PATH; `file` is then a path below it. */
  efs: htpasswdEfs.optional(),
}).superRefine((s, ctx) => {
  if (s.efs !== undefined && !underHtpasswdMount(s.file)) {
    ctx.addIssue({
      code: "custom",
      path: ["file"],
      message: `with source.efs, expected a path below ${HTPASSWD_EFS_MOUNT_PATH}/ (where the functions mount the access point), such as ${HTPASSWD_EFS_MOUNT_PATH}/<registry>/htpasswd`,
    });
  }
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
    source: z.discriminatedUnion("type", [ecrTokenSource, managedSecretSource, htpasswdSource], {
      error: 'expected source.type to be one of "ecr-token", "managed-secret", "htpasswd"',
    }),
    secret: z.string().refine((s) => SECRET_ARN.test(s) || (SECRET_NAME.test(s) && !s.startsWith("arn:")), "expected a Secrets Manager secret ARN or name"),
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
    if (r.source.type !== "ecr-token") return;
    if (r.kind !== "ecr" && r.kind !== "ecr-public") {
      ctx.addIssue({ code: "custom", path: ["source", "type"], message: `"ecr-token" mints tokens for kind "ecr" or "ecr-public", not "${r.kind}"` });
    }
    if (r.kind === "ecr") {
      const match = ECR_HOST.exec(r.host);
      if (!match) {
        ctx.addIssue({ code: "custom", path: ["host"], message: "expected an ECR host <account>.dkr.ecr.<region>.amazonaws.com" });
      } else if (match[1] !== r.source.account || match[2] !== r.source.region) {
        ctx.addIssue({ code: "custom", path: ["host"], message: `host names account ${match[1]} in ${match[2]}, but source says ${r.source.account} in ${r.source.region}` });
      }
    }
    if (r.kind === "ecr-public" && r.source.region !== "us-east-1") {
      ctx.addIssue({ code: "custom", path: ["source", "region"], message: "ECR Public issues tokens only in us-east-1" });
    }
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
    refreshSchedule: z.string().regex(SCHEDULE, SCHEDULE_MESSAGE).default("rate(15 minutes)"),
    reconcileSchedule: z.string().regex(SCHEDULE, SCHEDULE_MESSAGE).default("rate(15 minutes)"),
    maxJitter: duration.default(300),
    /** Writes per second per provider ("github", "aws:codebuild", "aws:codebuild:eu-west-1"…), on top of the defaults. */
    rateLimits: z.record(z.string().min(1), z.number().positive("expected writes per second, above 0")).default({}),
    /** How often the audit discovers environments and judges them. */
    auditSchedule: z.string().regex(SCHEDULE, SCHEDULE_MESSAGE).default("rate(15 minutes)"),
    /** Provider clocks vs ours: an environment started this close before a delivery counts as having loaded it. */
    clockSkew: duration.default(5),
    /** How often previous credentials are checked for revocation (on AWS; the embedded runtime also checks after each delivery and scan). */
    revokeSchedule: z.string().regex(SCHEDULE, SCHEDULE_MESSAGE).default("rate(15 minutes)"),
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
