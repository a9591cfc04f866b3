import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError, type ConfigIssue, formatConfigIssue, locateIssues, type PathIssue, zodIssues } from "./config-issues.js";
import { type ConsumerEntry, consumerTargetIssues, type TargetSchemas } from "./consumers.js";
import type { Consumer } from "./delivery.js";
import { parseDuration } from "./duration.js";
import { InvalidInputError } from "./errors.js";
import { REGISTRY_KINDS, type Registry, revokePolicy } from "./model.js";
import { awsRegion, didYouMean } from "./suggest.js";

/**
 * `pullkeeper.yaml`: the registries pullkeeper keeps fresh and the consumers that copy them.
 * Every problem is reported with its path in the file (and its line and column when the text is
 * known), all at once, not only the first; unknown keys everywhere, with the nearest known key.
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

/**
 * Checks across entries (duplicate ids, consumers naming unknown registries) on the raw document,
 * so they are reported even when an entry has problems of its own.
 */
function crossReferenceIssues(doc: unknown): PathIssue[] {
  const list = (key: string): unknown[] => {
    const value = (doc as Record<string, unknown> | null)?.[key];
    return Array.isArray(value) ? value : [];
  };
  const field = (entry: unknown, key: string): unknown => (entry !== null && typeof entry === "object" ? (entry as Record<string, unknown>)[key] : undefined);
  const issues: PathIssue[] = [];
  const ids = (key: string): Map<string, number> => {
    const seen = new Map<string, number>();
    list(key).forEach((entry, i) => {
      const id = field(entry, "id");
      if (typeof id !== "string") return;
      const first = seen.get(id);
      if (first !== undefined) issues.push({ path: [key, i, "id"], message: `duplicate id "${id}" (first at ${key}[${first}])` });
      else seen.set(id, i);
    });
    return seen;
  };
  const registryIds = ids("registries");
  ids("consumers");
  list("consumers").forEach((c, i) => {
    const ref = field(c, "registry");
    if (typeof ref === "string" && !registryIds.has(ref)) issues.push({ path: ["consumers", i, "registry"], message: `no registry with id "${ref}"${didYouMean(ref, registryIds.keys())}` });
  });
  return issues;
}

export interface PullkeeperConfig {
  readonly registries: readonly Registry[];
  readonly consumers: readonly ConsumerEntry[];
  readonly settings: {
    readonly refreshSchedule: string;
    readonly reconcileSchedule: string;
    readonly maxJitterSeconds: number;
    readonly rateLimits: Readonly<Record<string, number>>;
    readonly auditSchedule: string;
    readonly clockSkewSeconds: number;
    readonly revokeSchedule: string;
    /** IANA name; the cron() schedules' time zone on AWS. */
    readonly timezone: string;
    /** The audit API's principals on AWS; a role absent here trusts the deploy account's root. */
    readonly api?: { readonly readers?: readonly string[]; readonly operators?: readonly string[] };
  };
}

interface DocumentCheck {
  readonly issues: PathIssue[];
  readonly config?: PullkeeperConfig;
  readonly consumers?: Consumer[];
}

/**
 * The one check of a config document: its schema (unknown keys everywhere), the references
 * between entries, and, given the consumer kinds' schemas, every consumer's target.
 */
function checkDocument(doc: unknown, targets?: TargetSchemas): DocumentCheck {
  const data = doc ?? {};
  const parsed = configSchema.safeParse(data);
  const consumers = targets && consumerTargetIssues((data as { consumers?: unknown }).consumers, targets);
  const issues = [...(parsed.success ? [] : zodIssues(parsed.error, configSchema, data)), ...crossReferenceIssues(doc), ...(consumers?.issues ?? [])];
  if (!parsed.success || issues.length > 0) return { issues };
  const config = toConfig(parsed.data);
  return {
    issues,
    config,
    ...(consumers && {
      consumers: config.consumers.map((c, i): Consumer => ({ id: c.id, registryId: c.registry, target: consumers.parsed.get(i) as Consumer["target"], ...(c.restart === true && { restart: true }) })),
    }),
  };
}

function toConfig({ registries, consumers, settings: s }: z.output<typeof configSchema>): PullkeeperConfig {
  return {
    registries: registries.map((r): Registry => {
      const source =
        r.source.type === "ecr-token"
          ? {
              type: "ecr-token" as const,
              account: r.source.account,
              region: r.source.region,
              ...(r.source.roleArn !== undefined && { roleArn: r.source.roleArn }),
              ...(r.source.externalId !== undefined && { externalId: r.source.externalId }),
              ...(r.source.margin !== undefined && { marginSeconds: r.source.margin }),
            }
          : r.source.type === "htpasswd"
            ? {
                type: "htpasswd" as const,
                file: r.source.file,
                users: r.source.users,
                rotation: r.source.rotation,
                ...(r.source.serve !== undefined && { serve: r.source.serve }),
                ...(r.source.efs !== undefined && { efs: r.source.efs }),
              }
            : { type: "managed-secret" as const };
      return {
        id: r.id,
        host: r.host,
        kind: r.kind,
        source,
        secret: r.secret,
        revoke: { afterSeconds: r.revoke.after, whenInUse: r.revoke.whenInUse },
        verify: { ...(r.verify.canary && { canary: r.verify.canary }), ...(r.verify.endpoint !== undefined && { endpoint: r.verify.endpoint.replace(/\/+$/, "") }) },
      };
    }),
    consumers,
    settings: { refreshSchedule: s.refreshSchedule, reconcileSchedule: s.reconcileSchedule, maxJitterSeconds: s.maxJitter, rateLimits: s.rateLimits, auditSchedule: s.auditSchedule, clockSkewSeconds: s.clockSkew, revokeSchedule: s.revokeSchedule, timezone: s.timezone, ...apiSettings(s.api) },
  };
}

function apiSettings(api: z.output<typeof configSchema>["settings"]["api"]): Pick<PullkeeperConfig["settings"], "api"> {
  if (api === undefined) return {};
  return { api: { ...(api.readers && { readers: [...new Set(api.readers)] }), ...(api.operators && { operators: [...new Set(api.operators)] }) } };
}

/** Validates an already-parsed document (no text, so issues carry their path but no line); throws InvalidInputError listing every problem. */
export function validateConfig(doc: unknown, source = "pullkeeper.yaml"): PullkeeperConfig {
  const { issues, config } = checkDocument(doc);
  if (config === undefined || issues.length > 0) {
    const lines = issues.map((issue) => formatConfigIssue(issue, source));
    throw new InvalidInputError(`${source} is not valid:\n  ${lines.join("\n  ")}`, lines);
  }
  return config;
}

export interface CheckedConfig {
  readonly config: PullkeeperConfig;
  /** Every consumer with its target as its kind's schema parsed it (defaults applied). */
  readonly consumers: Consumer[];
}

/**
 * THE check of a config file, shared by `pullkeeper validate`, `pullkeeper dev` and the deploy:
 * the YAML, the document (unknown keys everywhere), the references between entries and every
 * consumer's target with its kind's schema from `targets`. Throws a ConfigError whose issues
 * read `<file>:<line>:<column> <path>: <problem>`, all of them at once.
 */
export function checkConfigFile(text: string, file: string, targets: TargetSchemas): CheckedConfig {
  const { config, consumers } = checkText(text, file, targets);
  return { config, consumers: consumers ?? [] };
}

/** Parses and validates the YAML text of a config file, without the consumers' targets (checkConfigFile checks those too). */
export function parseConfig(text: string, source = "pullkeeper.yaml"): PullkeeperConfig {
  return checkText(text, source).config;
}

function checkText(text: string, file: string, targets?: TargetSchemas): { config: PullkeeperConfig; consumers?: Consumer[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    // The first errors only: the parser's later ones mostly echo the first (a bad indent or
    // bracket turns every later token into an "unexpected" one).
    const located: ConfigIssue[] = doc.errors.slice(0, 3).map((e) => ({ path: [], message: (e.message.split("\n")[0] ?? e.code).replace(/ at line \d+, column \d+:?$/, ""), line: e.linePos?.[0]?.line ?? 1, column: e.linePos?.[0]?.col ?? 1 }));
    const issues = located.map((issue) => `${file}:${issue.line}:${issue.column} ${issue.message}`);
    throw new InvalidInputError(`${file} is not valid YAML:\n  ${issues.join("\n  ")}`, issues);
  }
  const { issues, config, consumers } = checkDocument(doc.toJS(), targets);
  if (config === undefined || issues.length > 0) throw new ConfigError(file, locateIssues(issues, doc, lines));
  return { config, ...(consumers && { consumers }) };
}
