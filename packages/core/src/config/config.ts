import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError, type ConfigIssue, formatConfigIssue, locateIssues, type PathIssue, zodIssues } from "./config-issues.js";
import { configSchema } from "./config-schema.js";
import { type ConsumerEntry, consumerTargetIssues, type TargetSchemas } from "../model/consumers.js";
import type { Consumer } from "../propagation/delivery.js";
import { InvalidInputError } from "../model/errors.js";
import type { Registry, RegistrySource } from "../model/model.js";

import { modelSource } from "../source-modules.js";
import { didYouMean } from "./suggest.js";

export { configSchema, DEFAULT_REVOKE_AFTER_SECONDS, HTPASSWD_EFS_MOUNT_PATH, PRINCIPAL_ARN, principalIssue, underHtpasswdMount } from "./config-schema.js";

/**
 * `pullkeeper.yaml`: the registries pullkeeper keeps fresh and the consumers that copy them.
 * Every problem is reported with its path in the file (and its line and column when the text is
 * known), all at once, not only the first; unknown keys everywhere, with the nearest known key.
 */

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
/**
 * Every string holding a NUL byte, wherever it is: a path, a name or a secret id with one would be
 * cut short (or refused) by whatever reads it next, so it is refused here, where it can be named.
 */
function nulIssues(value: unknown, path: (string | number)[] = []): PathIssue[] {
  if (typeof value === "string") return value.includes("\u0000") ? [{ path, message: "contains a NUL character" }] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nulIssues(v, [...path, i]));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([k, v]) => nulIssues(v, [...path, k]));
  return [];
}

function checkDocument(doc: unknown, targets?: TargetSchemas): DocumentCheck {
  const data = doc ?? {};
  const parsed = configSchema.safeParse(data);
  const consumers = targets && consumerTargetIssues((data as { consumers?: unknown }).consumers, targets);
  const issues = [...nulIssues(data), ...(parsed.success ? [] : zodIssues(parsed.error, configSchema, data)), ...crossReferenceIssues(doc), ...(consumers?.issues ?? [])];
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
      const source = modelSource(r.source as RegistrySource);
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

/** The model's source: its module's conversion, or the parsed block without its unset keys. */
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
 * consumer's target with its kind's schema from `targets`; and with `ahead` (scheduleIssues, as
 * those three pass it, not the Lambdas) the checks that take a schedule's runs. Throws a ConfigError whose issues
 * read `<file>:<line>:<column> <path>: <problem>`, all of them at once.
 */
export function checkConfigFile(text: string, file: string, targets: TargetSchemas, ahead?: AheadCheck): CheckedConfig {
  const { config, consumers } = checkText(text, file, targets, ahead);
  return { config, consumers: consumers ?? [] };
}

/** Parses and validates the YAML text of a config file, without the consumers' targets (checkConfigFile checks those too). */
export function parseConfig(text: string, source = "pullkeeper.yaml", ahead?: AheadCheck): PullkeeperConfig {
  return checkText(text, source, undefined, ahead).config;
}

/**
 * Checks of a valid config too slow for every parse (a Lambda's cold start), made where a
 * config is validated ahead of time: scheduleIssues (schedule-check.ts). Paths are the file's.
 */
export type AheadCheck = (config: PullkeeperConfig) => PathIssue[];

function checkText(text: string, file: string, targets?: TargetSchemas, ahead?: AheadCheck): { config: PullkeeperConfig; consumers?: Consumer[] } {
  const lines = new LineCounter();
  const doc = parseYaml(text, file, lines);
  if (doc.errors.length > 0) {
    // The first errors only: the parser's later ones mostly echo the first (a bad indent or
    // bracket turns every later token into an "unexpected" one).
    const located: ConfigIssue[] = doc.errors.slice(0, 3).map((e) => ({ path: [], message: (e.message.split("\n")[0] ?? e.code).replace(/ at line \d+, column \d+:?$/, ""), line: e.linePos?.[0]?.line ?? 1, column: e.linePos?.[0]?.col ?? 1 }));
    const issues = located.map((issue) => `${file}:${issue.line}:${issue.column} ${issue.message}`);
    throw new InvalidInputError(`${file} is not valid YAML:\n  ${issues.join("\n  ")}`, issues);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // yaml refuses a document whose aliases would expand past its limit (100): a resource-exhaustion guard.
    const why = error instanceof ReferenceError && /alias/i.test(error.message) ? "uses more than 100 YAML aliases (*name), which could expand without bound; write the values out" : "could not be read as YAML";
    throw new InvalidInputError(`${file} ${why}`);
  }
  const { issues, config, consumers } = checkDocument(value, targets);
  if (config !== undefined && issues.length === 0 && ahead) issues.push(...ahead(config));
  if (config === undefined || issues.length > 0) throw new ConfigError(file, locateIssues(issues, doc, lines));
  return { config, ...(consumers && { consumers }) };
}

/** yaml's parser recurses per nesting level: a few KB of nesting overflow the stack, a RangeError that must not escape as a crash. */
function parseYaml(text: string, file: string, lines: LineCounter): ReturnType<typeof parseDocument> {
  try {
    return parseDocument(text, { prettyErrors: true, lineCounter: lines });
  } catch (error) {
    if (error instanceof RangeError) throw new InvalidInputError(`${file} is nested too deeply to read as YAML`);
    throw error;
  }
}

