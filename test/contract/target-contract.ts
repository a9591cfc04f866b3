import { type Consumer, credential, type DeliveryContext, DeliveryError, type DeliveryOutcome, type DeliveryTarget, type Registry } from "@pullkeeper/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { interceptingProxy } from "../support/intercepting-proxy.js";

/**
 * The contract every delivery target kind passes with its fake: it delivers the value it was
 * given, is idempotent on (consumer, version), never shows the value, and classifies a
 * provider's failures the way every other target does. A kind joins by one entry in the list
 * given to `targetContract` (test/contract/targets.test.ts).
 */

/** Distinctive, so a leak anywhere is found by a plain substring search. */
export const CONTRACT_PASSWORD = "s3cr3t-CONTRACT-pa55w0rd-7Qz9";
export const CONTRACT_USERNAME = "contract-bot";
export const CONTRACT_VERSION = "c0ffee00-1111-4222-8333-CONTRACT0001";
export const CONTRACT_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub-AbCdEf";
export const CONTRACT_REGISTRY: Registry = { id: "dockerhub", host: "docker.io", kind: "dockerhub", source: { type: "managed-secret" }, secret: CONTRACT_SECRET_ARN, verify: {} };

/** The ways a provider fails that every target must tell apart the same way. */
export type Fault =
  | { readonly kind: "status"; readonly status: number; readonly retryAfterSeconds?: number }
  | { readonly kind: "reset" }
  | { readonly kind: "timeout" };

/** One kind with its fake, started afresh for every clause. */
export interface TargetHarness {
  readonly target: DeliveryTarget;
  readonly consumer: Consumer;
  /** What the consumer holds now, read back through the fake (undefined: nothing yet). */
  held(): Promise<string | undefined>;
  /** Makes the provider's next answer this fault. Absent for a kind without a provider to fail (a local file). */
  fail?(fault: Fault): void;
  close(): Promise<void>;
}

export interface TargetContractEntry {
  readonly kind: string;
  /**
   * What a delivery leaves at the consumer that names the given credential: the password
   * (targets that copy the value), the version id (targets that notify), or the secret ARN
   * (targets that check the consumer reads the secret itself).
   */
  readonly carries: "password" | "versionId" | "secretArn";
  /** The provider sends no Retry-After (AWS): the "with Retry-After" clause does not apply. */
  readonly noRetryAfter?: boolean;
  start(): Promise<TargetHarness>;
}

export function contractContext(consumer: Consumer, versionId = CONTRACT_VERSION): DeliveryContext {
  return { consumer, registry: CONTRACT_REGISTRY, secretArn: CONTRACT_SECRET_ARN, versionId, credential: credential(CONTRACT_USERNAME, CONTRACT_PASSWORD) };
}

/** What a clause expects of a fault: the classification every target shares. */
interface Expected {
  readonly retryable: boolean;
  /** Allowed codes; more than one where targets' stable names already differ (see docs/testing.md). */
  readonly codes: readonly string[];
  readonly retryAfterMs?: "exact" | "absent-or-positive";
}

const RETRY_AFTER_SECONDS = 7;

export const FAULTS: readonly { readonly name: string; readonly fault: Fault; readonly expected: Expected; readonly needsRetryAfter?: boolean }[] = [
  { name: "401", fault: { kind: "status", status: 401 }, expected: { retryable: false, codes: ["unauthorized", "access_denied"] } },
  { name: "403", fault: { kind: "status", status: 403 }, expected: { retryable: false, codes: ["forbidden", "unauthorized", "access_denied"] } },
  { name: "404", fault: { kind: "status", status: 404 }, expected: { retryable: false, codes: ["not_found"] } },
  {
    name: "429 with Retry-After",
    fault: { kind: "status", status: 429, retryAfterSeconds: RETRY_AFTER_SECONDS },
    expected: { retryable: true, codes: ["throttled"], retryAfterMs: "exact" },
    needsRetryAfter: true,
  },
  { name: "429 without Retry-After", fault: { kind: "status", status: 429 }, expected: { retryable: true, codes: ["throttled"], retryAfterMs: "absent-or-positive" } },
  { name: "500", fault: { kind: "status", status: 500 }, expected: { retryable: true, codes: ["unavailable"] } },
  { name: "503", fault: { kind: "status", status: 503 }, expected: { retryable: true, codes: ["unavailable"] } },
  { name: "connection reset", fault: { kind: "reset" }, expected: { retryable: true, codes: ["unavailable"] } },
  { name: "timeout", fault: { kind: "timeout" }, expected: { retryable: true, codes: ["timeout", "unavailable"] } },
];

/** Everything the engine could store, show or log of a failure or an outcome, causes included. */
export function visibleText(value: unknown): string {
  const parts: string[] = [];
  let current: unknown = value;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth += 1) {
    if (current instanceof Error) {
      parts.push(current.name, current.message, String(current.stack), JSON.stringify(current) ?? "");
      current = current.cause;
    } else {
      parts.push(typeof current === "string" ? current : (JSON.stringify(current) ?? String(current)));
      current = undefined;
    }
  }
  return parts.join("\n");
}

/** The console and stdout/stderr while `run` goes. */
export async function capturingOutput<T>(run: () => Promise<T>): Promise<{ settled: { value?: T; error?: unknown }; output: string }> {
  const chunks: string[] = [];
  const spies = (["log", "info", "warn", "error", "debug", "trace"] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void chunks.push(args.map((a) => visibleText(a)).join(" "))),
  );
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => (chunks.push(String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: unknown) => (chunks.push(String(chunk)), true));
  try {
    return { settled: { value: await run() }, output: chunks.join("\n") };
  } catch (error) {
    return { settled: { error }, output: chunks.join("\n") };
  } finally {
    for (const s of [...spies, out, err]) s.mockRestore();
  }
}

export function expectNoValue(text: string, where: string): void {
  expect(text.includes(CONTRACT_PASSWORD), `${where} shows the credential value`).toBe(false);
  expect(text.includes(Buffer.from(`${CONTRACT_USERNAME}:${CONTRACT_PASSWORD}`).toString("base64")), `${where} shows the value base64-encoded`).toBe(false);
}

export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  fail(fault: Fault): void;
  close(): Promise<void>;
}

/**
 * Sits between a target and its existing fake on 127.0.0.1: passes every request through,
 * except the next one after `fail`, which gets the fault (an HTTP status, a reset socket, or
 * no answer). One fault injector for every HTTP target, so all see the same failures.
 */
export async function faultProxy(upstream: string): Promise<FaultProxy> {
  const faults: Fault[] = [];
  const proxy = await interceptingProxy(upstream, (req, res) => {
    const fault = faults.shift();
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return true;
    }
    if (fault?.kind === "timeout") {
      req.resume();
      return true; // never answers; close() ends the socket
    }
    if (fault?.kind === "status") {
      req.resume();
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
      res.writeHead(fault.status, headers);
      res.end(JSON.stringify({ message: `contract fault ${fault.status}` }));
      return true;
    }
    return false;
  });
  return { ...proxy, fail: (fault) => void faults.push(fault) };
}

async function deliverError(harness: TargetHarness, context: DeliveryContext): Promise<{ error: DeliveryError; output: string }> {
  const { settled, output } = await capturingOutput(() => harness.target.deliver(context));
  expect(settled.error, `the delivery resolved ${JSON.stringify(settled.value)}`).toBeInstanceOf(DeliveryError);
  return { error: settled.error as DeliveryError, output };
}

/** Registers the contract's tests for every entry. */
export function targetContract(entries: readonly TargetContractEntry[]): void {
  for (const entry of entries) {
    describe(`target contract: ${entry.kind}`, () => {
      let harness: TargetHarness | undefined;
      const start = async (): Promise<TargetHarness> => {
        harness = await entry.start();
        expect(harness.target.kind).toBe(entry.kind);
        return harness;
      };
      afterEach(async () => {
        await harness?.close();
        harness = undefined;
      });

      const carried = (context: DeliveryContext): string =>
        entry.carries === "password" ? context.credential.password.reveal() : entry.carries === "versionId" ? context.versionId : context.secretArn;

      it("delivers the value it was given, read back through the fake, and shows it nowhere", async () => {
        const h = await start();
        const context = contractContext(h.consumer);
        const { settled, output } = await capturingOutput(() => h.target.deliver(context));
        expect(settled.error, visibleText(settled.error)).toBeUndefined();
        const outcome = settled.value as DeliveryOutcome;
        expect(["delivered", "verified"]).toContain(outcome.status);
        expect(await h.held()).toContain(carried(context));
        expectNoValue(visibleText(outcome), "the outcome");
        expectNoValue(output, "the log");
      });

      it("is idempotent on (consumer, version): the same version twice leaves what one delivery left", async () => {
        const h = await start();
        const context = contractContext(h.consumer);
        const first = await h.target.deliver(context);
        const once = await h.held();
        const second = await h.target.deliver(context);
        expect(second.status).toBe(first.status);
        expect(await h.held()).toBe(once);
      });

      for (const { name, fault, expected, needsRetryAfter } of FAULTS) {
        it(`classifies ${name} as ${expected.retryable ? "retryable" : "failed for good"} (${expected.codes.join(" | ")}), without the value`, async (ctx) => {
          if (needsRetryAfter === true && entry.noRetryAfter === true) return ctx.skip();
          const h = await start();
          if (h.fail === undefined) return ctx.skip();
          h.fail(fault);
          const { error, output } = await deliverError(h, contractContext(h.consumer));
          expect(expected.codes, `code of: ${error.message}`).toContain(error.code);
          expect(error.retryable, `retryable of: ${error.message}`).toBe(expected.retryable);
          if (expected.retryAfterMs === "exact") expect(error.retryAfterMs).toBe(RETRY_AFTER_SECONDS * 1000);
          if (expected.retryAfterMs === "absent-or-positive" && error.retryAfterMs !== undefined) expect(error.retryAfterMs).toBeGreaterThan(0);
          if (expected.retryAfterMs === undefined) expect(error.retryAfterMs).toBeUndefined();
          expect(error.deferred).toBe(false);
          expectNoValue(visibleText(error), "the error");
          expectNoValue(output, "the log");
        });
      }
    });
  }
}
