import { redactCredentials } from "./redaction.js";

/**
 * How the functions' logs are printed when they run inside `pullkeeper dev` rather than on Lambda.
 * The embedded runtime sets PULLKEEPER_LOG_FORMAT; Lambda never does, so there the logs stay
 * Powertools' JSON on stdout, which CloudWatch and its queries expect.
 */
export type LocalLogFormat = "pretty" | "json";

export const LOG_FORMATS: readonly LocalLogFormat[] = ["pretty", "json"];
export const LOG_FORMAT_ENV = "PULLKEEPER_LOG_FORMAT";

/** Read at print time, not when the function's module is loaded: `dev` decides after its imports. */
export function localLogFormat(env: NodeJS.ProcessEnv = process.env): LocalLogFormat | undefined {
  const value = env[LOG_FORMAT_ENV];
  return value === "pretty" || value === "json" ? value : undefined;
}

/** Lambda context and sampling fields: the same on every line, so a person reading along never needs them. */
const CONTEXT_KEYS = new Set([
  "level",
  "message",
  "timestamp",
  "service",
  "cold_start",
  "function_name",
  "function_arn",
  "function_memory_size",
  "function_request_id",
  "sampling_rate",
  "xray_trace_id",
  "correlation_id",
]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `registryId` reads as `registry`, `versionId` as `version`: the line is for people. */
const shortKey = (key: string) => (key.length > 2 && key.endsWith("Id") ? key.slice(0, -2) : key);

/** A value as one token: version IDs shortened, anything with spaces quoted, objects as compact JSON. */
function shortValue(key: string, value: unknown): string {
  if (typeof value === "string") {
    if (UUID.test(value)) return `${value.slice(0, 8)}…`;
    return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (isErrorShape(value)) return JSON.stringify(`${value.name ?? "Error"}: ${value.message ?? ""}`);
  return JSON.stringify(value, (k, v: unknown) => (k === "" ? v : redactCredentials(k, v))) ?? String(value);
}

function isErrorShape(value: unknown): value is { name?: string; message?: string } {
  return typeof value === "object" && value !== null && "message" in value && ("stack" in value || "location" in value);
}

function clock(timestamp: unknown): string {
  const date = typeof timestamp === "string" ? new Date(timestamp) : new Date();
  const at = Number.isNaN(date.getTime()) ? new Date() : date;
  return at.toTimeString().slice(0, 8);
}

/**
 * One Powertools log item as one line for a terminal:
 * `06:12:03 rotate    rotation step done registry=local step=finishSecret version=ab12cd34…`.
 * Local time (it is the user's terminal), the function's short name, the level only when it is
 * not INFO, then the fields. Every field goes through the same redaction as the JSON logs, and an
 * error shows as its name and message (its stack is in the JSON format).
 */
export function prettyLogLine(attributes: Readonly<Record<string, unknown>>): string {
  const service = typeof attributes.service === "string" ? attributes.service.replace(/^pullkeeper-/, "") : "";
  const level = typeof attributes.level === "string" && attributes.level !== "INFO" ? ` ${attributes.level}` : "";
  const fields: string[] = [];
  for (const [key, raw] of Object.entries(attributes)) {
    if (CONTEXT_KEYS.has(key) || raw === undefined) continue;
    const value = redactCredentials(key, raw);
    fields.push(`${shortKey(key)}=${shortValue(key, value)}`);
  }
  const message = String(attributes.message ?? "").replace(/\s*\n\s*/g, " ");
  return [`${clock(attributes.timestamp)} ${service.padEnd(9)}${level}`, message, ...fields].filter((p) => p !== "").join(" ");
}

/** A line the runtime itself logs (schedules, served registries), in the chosen format. */
export function localLogLine(format: LocalLogFormat, line: string, at: Date = new Date()): string {
  if (format === "json") return JSON.stringify({ timestamp: at.toISOString(), service: "pullkeeper-dev", message: line });
  return `${at.toTimeString().slice(0, 8)} ${line}`;
}
