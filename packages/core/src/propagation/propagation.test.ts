import { describe, expect, it } from "vitest";
import { credential } from "../model/credential.js";
import { PullkeeperError } from "../model/errors.js";
import { type Consumer, type ConsumerDelivery, type DeliveryContext, DeliveryError, type DeliveryRequest, type DeliveryTarget, type RateLimiter } from "./delivery.js";
import type { PullkeeperEvent } from "../model/events.js";
import type { HistoryEntry, Ledger, StoredCredential, Vault } from "../model/ports.js";
import { PropagationService } from "./propagation.js";

const NOW = new Date("2026-11-23T12:00:00Z");
const consumer: Consumer = { id: "c1", registryId: "r", target: { kind: "t" } };
const request: DeliveryRequest = { consumerId: "c1", registryId: "r", secretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:s-AbCdEf", versionId: "v1", versionCreatedAt: NOW };

interface Recorded {
  final: boolean;
  code: string;
  retry?: { nextAttemptAt: Date; counted: boolean } | undefined;
}

/** The engine with an in-memory ledger record, a recording queue and limiter, and a clock the test moves. */
function world(deliver: DeliveryTarget["deliver"], options: { stages?: string[]; state?: Partial<ConsumerDelivery>; limiter?: Partial<RateLimiter>; writes?: number } = {}) {
  let now = NOW.getTime();
  const pauses: [string, number][] = [];
  const acquired: { provider: string; writes: number | undefined }[] = [];
  const failures: Recorded[] = [];
  const events: PullkeeperEvent[] = [];
  const history: HistoryEntry[] = [];
  const sent: { request: DeliveryRequest; delayMs: number | undefined }[] = [];
  let record: ConsumerDelivery | undefined = options.state ? { consumerId: "c1", registryId: "r", state: "pending", versionId: "v1", versionCreatedAt: NOW, attempts: 0, updatedAt: NOW, ...options.state } : undefined;
  const stored: StoredCredential = { arn: request.secretArn, versionId: "v1", stages: options.stages ?? ["AWSCURRENT"], createdAt: NOW, credential: credential("robot", "pw-Secret-42") };
  const target: DeliveryTarget = { kind: "t", schema: undefined as never, provider: () => "p", deliver, ...(options.writes !== undefined && { writesPerDelivery: () => options.writes as number }) };
  const service = new PropagationService({
    registries: [{ id: "r", host: "ghcr.io", kind: "ghcr", source: { type: "managed-secret" }, secret: "s", verify: {} }],
    consumers: [consumer],
    targets: new Map([["t", target]]),
    vault: { read: async () => stored } as unknown as Vault,
    ledger: {
      consumerDelivery: async () => record,
      recordDelivered: async () => "recorded",
      appendHistory: async (entry: HistoryEntry) => void history.push(entry),
      recordAttemptFailed: async (_r: DeliveryRequest, e: { code: string; message: string }, final: boolean, at: Date, retry?: { nextAttemptAt: Date; counted: boolean }) => {
        failures.push({ final, code: e.code, retry });
        const base = record ?? { consumerId: "c1", registryId: "r", state: "pending" as const, versionId: "v1", versionCreatedAt: NOW, attempts: 0, updatedAt: at };
        record = {
          ...base,
          state: final ? "failed" : "retrying",
          attempts: base.attempts + (final || retry?.counted !== false ? 1 : 0),
          lastError: { code: e.code, message: e.message, at },
          ...(retry && { nextAttemptAt: retry.nextAttemptAt }),
          updatedAt: at,
        };
        return "recorded";
      },
    } as unknown as Ledger,
    queue: { send: async (requests, o) => void sent.push(...requests.map((r) => ({ request: r, delayMs: o?.delayMs }))) },
    bus: { publish: async (e) => void events.push(...e) },
    rateLimiter: {
      acquire: async (provider, o) => void acquired.push({ provider, writes: o?.writes }),
      pause: async (p, until) => void pauses.push([p, until]),
      pausedUntil: async () => undefined,
      ...options.limiter,
    },
    clock: { now: () => new Date(now) },
    random: () => 0.5,
    retry: { baseMs: 2_000, maxMs: 900_000 },
  });
  return { service, pauses, acquired, failures, events, history, sent, record: () => record, advance: (ms: number) => void (now += ms) };
}

describe("PropagationService.deliver: retryable causes are retried for as long as the version is current", () => {
  it("honours Retry-After: pauses every worker, records `retrying` with the next attempt, and queues the request again for then", async () => {
    const w = world(async () => {
      throw new DeliveryError("throttled", "429", { retryable: true, retryAfterMs: 200_000 });
    });
    const result = await w.service.deliver(request, { number: 1 });
    expect(result).toMatchObject({ outcome: "retrying", code: "throttled", attempts: 1, deferred: false });
    expect(w.pauses).toEqual([["p", NOW.getTime() + 200_000]]);
    // Never before the provider's Retry-After (plus a little jitter), whatever the backoff says.
    const next = (result as { nextAttemptAt: Date }).nextAttemptAt.getTime();
    expect(next).toBeGreaterThanOrEqual(NOW.getTime() + 200_000);
    expect(next).toBeLessThanOrEqual(NOW.getTime() + 201_000);
    expect(w.failures).toEqual([{ final: false, code: "throttled", retry: { nextAttemptAt: new Date(next), counted: true } }]);
    expect(w.sent).toEqual([{ request, delayMs: next - NOW.getTime() }]);
    expect(w.events).toEqual([]);
  });

  it("a throttling error without Retry-After still pauses every worker briefly", async () => {
    const w = world(async () => {
      throw new DeliveryError("throttled", "Rate exceeded", { retryable: true });
    });
    expect(await w.service.deliver(request)).toMatchObject({ outcome: "retrying", code: "throttled" });
    expect(w.pauses).toEqual([["p", NOW.getTime() + 1_000]]);
  });

  it("never gives up on a current version: the tenth 503 in a row is retrying again, with a capped, growing backoff", async () => {
    const w = world(async () => {
      throw new DeliveryError("unavailable", "HTTP 503", { retryable: true });
    });
    const delays: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const result = await w.service.deliver(request, { number: 1 });
      expect(result, `attempt ${i}`).toMatchObject({ outcome: "retrying", attempts: i });
      const delay = w.sent.at(-1)?.delayMs ?? 0;
      delays.push(delay);
      w.advance(delay);
    }
    // random() = 0.5: three quarters of the ceiling, 2 s doubling, capped at 15 minutes.
    expect(delays.slice(0, 4)).toEqual([1_500, 3_000, 6_000, 12_000]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(900_000);
    expect(w.failures.every((f) => !f.final)).toBe(true);
    expect(w.events).toEqual([]);
    expect(w.record()).toMatchObject({ state: "retrying", attempts: 10, lastError: { code: "unavailable" } });
  });

  it("a deferral by the rate limiter ('not before') reschedules the delivery for then without counting a failed attempt", async () => {
    let called = 0;
    const w = world(async () => (called++, { status: "delivered", detail: "" }), {
      state: { state: "retrying", attempts: 3, nextAttemptAt: NOW },
      limiter: {
        acquire: async () => {
          throw new DeliveryError("paused", "p is paused", { retryable: true, retryAfterMs: 180_000, deferred: true });
        },
      },
    });
    const result = await w.service.deliver(request);
    expect(result).toMatchObject({ outcome: "retrying", code: "paused", attempts: 3, deferred: true });
    expect(called).toBe(0);
    expect(w.pauses).toEqual([]); // the pause is already there
    expect(w.failures[0]?.retry?.counted).toBe(false);
    expect(w.sent[0]?.delayMs).toBeGreaterThanOrEqual(180_000);
  });

  it("drops a retrying delivery whose version is no longer AWSCURRENT: superseded, not failed", async () => {
    let sent = 0;
    const w = world(async () => (sent++, { status: "delivered", detail: "" }), { stages: ["AWSPREVIOUS"], state: { state: "retrying", attempts: 7, nextAttemptAt: NOW } });
    expect(await w.service.deliver(request)).toEqual({ outcome: "skipped", reason: "superseded" });
    expect(sent).toBe(0);
    expect(w.failures).toEqual([]);
    expect(w.sent).toEqual([]);
  });

  it("a message that arrives before its consumer's next attempt (SQS delays stop at 15 minutes) is queued again for the rest, nothing else", async () => {
    let sent = 0;
    const due = new Date(NOW.getTime() + 40 * 60_000);
    const w = world(async () => (sent++, { status: "delivered", detail: "" }), { state: { state: "retrying", attempts: 2, nextAttemptAt: due } });
    expect(await w.service.deliver(request)).toEqual({ outcome: "waiting", nextAttemptAt: due });
    expect(w.sent).toEqual([{ request, delayMs: 40 * 60_000 }]);
    expect(sent).toBe(0);
    expect(w.failures).toEqual([]);
  });

  it("takes all of a delivery's writes from the budget at once", async () => {
    const w = world(async () => ({ status: "delivered", detail: "" }), { writes: 3 });
    await w.service.deliver(request);
    expect(w.acquired).toEqual([{ provider: "p", writes: 3 }]);
  });
});

describe("PropagationService.deliver: the rate limiter's own store failing is the bookkeeping's, not the provider's", () => {
  const storeDown = () => new PullkeeperError("access_denied", "rate limiter UpdateItem on pullkeeper-ledger: AccessDeniedException");

  it("acquire() failing throws (the message is redelivered): nothing recorded, no provider paused, nothing written", async () => {
    let writes = 0;
    const w = world(async () => {
      writes++;
      return { status: "delivered", detail: "" };
    }, { limiter: { acquire: async () => Promise.reject(storeDown()) } });
    await expect(w.service.deliver(request)).rejects.toMatchObject({ code: "access_denied" });
    expect(w.failures).toEqual([]);
    expect(w.pauses).toEqual([]);
    expect(w.events).toEqual([]);
    expect(w.sent).toEqual([]);
    expect(writes).toBe(0);
  });

  it("pausedUntil() failing between a target's writes throws the same way", async () => {
    const w = world(async (context) => {
      await context.beforeWrite?.();
      return { status: "delivered", detail: "" };
    }, { limiter: { pausedUntil: async () => Promise.reject(storeDown()) } });
    await expect(w.service.deliver(request)).rejects.toMatchObject({ code: "access_denied" });
    expect(w.failures).toEqual([]);
    expect(w.pauses).toEqual([]);
  });

  it("a deferral from the limiter is still the delivery's: retried when the slot comes, not thrown", async () => {
    const w = world(async () => ({ status: "delivered", detail: "" }), {
      limiter: { acquire: async () => Promise.reject(new DeliveryError("throttled", "not before 2 s", { retryable: true, retryAfterMs: 2_000, deferred: true })) },
    });
    expect(await w.service.deliver(request)).toMatchObject({ outcome: "retrying", code: "throttled", deferred: true });
  });
});

describe("PropagationService.deliver: the provider gate", () => {
  it("beforeWrite() stops a delivery between its writes while the provider is paused: retried after the pause, not counted", async () => {
    const writes: string[] = [];
    let pausedUntil: number | undefined;
    const w = world(
      async (context: DeliveryContext) => {
        for (const name of ["SERVER", "USER", "PASSWORD"]) {
          await context.beforeWrite?.();
          writes.push(name);
          // Another worker got a 429 right after our first write.
          pausedUntil = NOW.getTime() + 30_000;
        }
        return { status: "delivered", detail: "" };
      },
      { limiter: { pausedUntil: async () => pausedUntil } },
    );
    const result = await w.service.deliver(request);
    expect(writes).toEqual(["SERVER"]);
    expect(result).toMatchObject({ outcome: "retrying", code: "paused", deferred: true, attempts: 0 });
    expect((result as { nextAttemptAt: Date }).nextAttemptAt.getTime()).toBeGreaterThanOrEqual(NOW.getTime() + 30_000);
  });

  it("pause() from the target pauses every worker at once; the throttled error that follows does not pause twice", async () => {
    const w = world(async (context: DeliveryContext) => {
      await context.pause?.(3_000);
      throw new DeliveryError("throttled", "429", { retryable: true, retryAfterMs: 3_000 });
    });
    await w.service.deliver(request);
    expect(w.pauses).toEqual([["p", NOW.getTime() + 3_000]]);
  });
});

describe("PropagationService.deliver: causes no retry mends", () => {
  it("fails at once on a non-retryable error and tells on-call, without the value", async () => {
    const w = world(async () => {
      throw new DeliveryError("unauthorized", "token refused", { retryable: false });
    });
    expect(await w.service.deliver(request, { number: 1 })).toEqual({ outcome: "failed", code: "unauthorized", message: "token refused", attempts: 1 });
    expect(w.failures).toEqual([{ final: true, code: "unauthorized", retry: undefined }]);
    expect(w.sent).toEqual([]);
    expect(w.events).toEqual([{ type: "Delivery Failed", detail: expect.objectContaining({ consumerId: "c1", code: "unauthorized", attempts: 1 }) }]);
    expect(JSON.stringify(w.events)).not.toContain("pw-Secret-42");
    expect(w.history).toEqual([expect.objectContaining({ type: "delivery-failed", consumerId: "c1", code: "unauthorized" })]);
    expect(JSON.stringify(w.history)).not.toContain("pw-Secret-42");
  });

  it("a stray message for a run that failed for good changes nothing (a re-plan resets the record to pending first)", async () => {
    let sent = 0;
    const w = world(async () => (sent++, { status: "delivered", detail: "" }), { state: { state: "failed", attempts: 1, failures: 1 } });
    expect(await w.service.deliver(request)).toEqual({ outcome: "skipped", reason: "failed" });
    expect(sent).toBe(0);
    expect(w.events).toEqual([]);
  });

  it("records each delivery in the registry's history, which the audit reads back", async () => {
    const w = world(async () => ({ status: "verified", detail: "read back" }));
    expect(await w.service.deliver(request, { number: 1 })).toMatchObject({ outcome: "delivered" });
    expect(w.history).toEqual([{ type: "delivered", registryId: request.registryId, consumerId: "c1", versionId: request.versionId, status: "verified", at: expect.any(Date) }]);
  });

  it("drops a version that is no longer AWSCURRENT instead of sending it", async () => {
    let sent = 0;
    const w = world(async () => (sent++, { status: "delivered", detail: "" }), { stages: ["AWSPREVIOUS"] });
    expect(await w.service.deliver(request, { number: 1 })).toEqual({ outcome: "skipped", reason: "superseded" });
    expect(sent).toBe(0);
  });

  it("counts a delivery that outlives its time budget as a retryable timeout", async () => {
    const timed = new PropagationService({
      registries: [{ id: "r", host: "ghcr.io", kind: "ghcr", source: { type: "managed-secret" }, secret: "s", verify: {} }],
      consumers: [consumer],
      targets: new Map([["t", { kind: "t", schema: undefined as never, provider: () => "p", deliver: () => new Promise(() => undefined) }]]),
      vault: { read: async () => ({ arn: request.secretArn, versionId: "v1", stages: ["AWSCURRENT"], createdAt: NOW, credential: credential("a", "b") }) } as unknown as Vault,
      ledger: { consumerDelivery: async () => undefined, recordAttemptFailed: async () => "recorded" } as unknown as Ledger,
      queue: { send: async () => undefined },
      bus: { publish: async () => undefined },
      rateLimiter: { acquire: async () => undefined, pause: async () => undefined, pausedUntil: async () => undefined },
      clock: { now: () => NOW },
      deliveryTimeoutMs: 20,
    });
    expect(await timed.deliver(request, { number: 1 })).toMatchObject({ outcome: "retrying", code: "timeout" });
  });
});
