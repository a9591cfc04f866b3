/**
 * Test support (imported by tests only): the shared real payloads, and SDK clients whose HTTP
 * layer answers with them, so responses go through the SDK's own deserializer (epoch-second
 * timestamps become Dates exactly as in production).
 */
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

/** The real payloads copied into the repository (test/fixtures/shared, with their sources). */
const FIXTURES = fileURLToPath(new URL("../../../../../test/fixtures/shared/", import.meta.url));

export function fixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${path}`, "utf8")) as T;
}

/**
 * A payload the AWS CLI printed with ISO timestamps, back in the wire's form: AWS JSON protocols
 * send timestamps as epoch seconds (fractions allowed), which is what the SDK parses. Every
 * `…At` field holding an ISO date is converted; nothing else changes.
 */
export function isoTimestampsToWire(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => isoTimestampsToWire(v));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isoTimestampsToWire(v, k)]));
  if (typeof value === "string" && /At$/.test(key) && /^\d{4}-\d\d-\d\dT/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new Error(`${key}: not a timestamp: ${value}`);
    return ms / 1000;
  }
  return value;
}

/** One call as the server saw it: the operation ("DescribeTasks") and the JSON body. */
export interface WireCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

/**
 * Client options whose HTTP layer answers AWS JSON 1.1 calls with `answer(call)` (serialized to
 * the wire as-is), and records every call. For clients of awsJson1_1 services (ECS, CodeBuild).
 */
export function wireClientOptions(region: string, answer: (call: WireCall) => unknown): { options: Record<string, unknown>; calls: WireCall[] } {
  const calls: WireCall[] = [];
  const requestHandler = {
    handle: async (request: { headers: Record<string, string>; body?: unknown }) => {
      const operation = (request.headers["x-amz-target"] ?? "").replace(/^.*\./, "");
      const raw = request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : request.body;
      if (typeof raw !== "string") throw new Error(`${operation}: unexpected request body ${typeof raw}`);
      const input = raw === "" ? {} : (JSON.parse(raw) as Record<string, unknown>);
      const call = { operation, input };
      calls.push(call);
      const body = Buffer.from(JSON.stringify(answer(call)));
      return { response: { statusCode: 200, headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "wire-test" }, body: Readable.from([body]) } };
    },
  };
  return { options: { region, maxAttempts: 1, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" }, requestHandler }, calls };
}
