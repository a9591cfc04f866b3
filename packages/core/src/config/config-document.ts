import type { z } from "zod";
import { formatConfigIssue, type PathIssue, zodIssues } from "./config-issues.js";
import { configSchema } from "./config-schema.js";
import { consumerTargetIssues, type ConsumerEntry, type TargetSchemas } from "../model/consumers.js";
import type { Consumer } from "../propagation/delivery.js";
import { InvalidInputError } from "../model/errors.js";
import type { Registry, RegistrySource } from "../model/model.js";
import { modelSource } from "../source-modules.js";
import { didYouMean } from "./suggest.js";

/**
 * A config document, parsed already (from YAML by config.ts, or the JSON the deploy ships to the
 * functions): its check and its model. No YAML here, so what reads the deploy's JSON never loads it.
 */

/**
 * The config file a function reads: the document the deploy checked in pullkeeper.yaml, shipped as
 * JSON (stacks/config.ts, shippedConfig), so no function loads a YAML parser at cold start.
 */
export const SHIPPED_CONFIG_FILE = "pullkeeper.json";

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

export interface DocumentCheck {
  readonly issues: PathIssue[];
  readonly config?: PullkeeperConfig;
  readonly consumers?: Consumer[];
}

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

/**
 * The one check of a config document: its schema (unknown keys everywhere), the references
 * between entries, and, given the consumer kinds' schemas, every consumer's target.
 */
export function checkDocument(doc: unknown, targets?: TargetSchemas): DocumentCheck {
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
  /** The parsed document it was checked from: what the deploy ships to the functions as JSON. */
  readonly document: unknown;
  /** Every consumer with its target as its kind's schema parsed it (defaults applied). */
  readonly consumers: Consumer[];
}

/**
 * Checks of a valid config too slow for every parse (a Lambda's cold start), made where a
 * config is validated ahead of time: scheduleIssues (schedule-check.ts). Paths are the file's.
 */
export type AheadCheck = (config: PullkeeperConfig) => PathIssue[];

