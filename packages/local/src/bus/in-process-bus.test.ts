import { type PullkeeperEvent, PullkeeperError } from "@pullkeeper/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type EventEnvelope, InProcessBus } from "./in-process-bus.js";

function rotated(n: number, expiresAt?: string): PullkeeperEvent {
  return {
    type: "Credential Rotated",
    detail: { registryId: `reg-${n}`, secretArn: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:r${n}-AbCdEf`, versionId: `v-${n}`, ...(expiresAt ? { expiresAt } : {}) },
  };
}

const clock = { now: () => new Date("2024-02-10T10:07:30.123Z") };
const registryIds = (envelopes: readonly EventEnvelope[]) => envelopes.map((e) => e.detail.registryId);

/** A bus that records backoff waits instead of sleeping. */
function quickBus(options: { maxAttempts?: number; maxDeadLetters?: number } = {}) {
  const waits: number[] = [];
  const lines: string[] = [];
  const bus = new InProcessBus({
    clock,
    backoffMs: 50,
    ...options,
    sleep: async (ms) => void waits.push(ms),
    log: (line) => lines.push(line),
  });
  return { bus, waits, lines };
}

describe("InProcessBus", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("delivers EventBridge's envelope, with the detail as it would come out of JSON", async () => {
    const { bus } = quickBus();
    const got: EventEnvelope[] = [];
    bus.subscribe({ source: ["pullkeeper"] }, async (e) => void got.push(e));
    const withUndefined = { type: "Credential Rotated", detail: { registryId: "r", secretArn: "arn", versionId: "v", expiresAt: undefined } } as unknown as PullkeeperEvent;
    await bus.publish([rotated(1, "2024-02-10T22:07:30.000Z"), withUndefined]);
    await bus.drain();
    expect(got[0]).toEqual({
      version: "0",
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      "detail-type": "Credential Rotated",
      source: "pullkeeper",
      account: "000000000000",
      time: "2024-02-10T10:07:30Z",
      region: "local",
      resources: [],
      detail: { registryId: "reg-1", secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:r1-AbCdEf", versionId: "v-1", expiresAt: "2024-02-10T22:07:30.000Z" },
    });
    expect(Object.keys(got[1]?.detail ?? {})).toEqual(["registryId", "secretArn", "versionId"]);
    expect(got[0]?.id).not.toBe(got[1]?.id);
  });

  it("matches patterns on source and detail-type; an absent field matches anything", async () => {
    const { bus } = quickBus();
    const all: EventEnvelope[] = [];
    const rotations: EventEnvelope[] = [];
    const otherSource: EventEnvelope[] = [];
    const otherType: EventEnvelope[] = [];
    bus.subscribe({}, async (e) => void all.push(e));
    bus.subscribe({ source: ["aws.secretsmanager", "pullkeeper"], "detail-type": ["Credential Rotated"] }, async (e) => void rotations.push(e));
    bus.subscribe({ source: ["aws.secretsmanager"] }, async (e) => void otherSource.push(e));
    bus.subscribe({ "detail-type": ["Credential Revoked"] }, async (e) => void otherType.push(e));
    await bus.publish([rotated(1), rotated(2)]);
    await bus.drain();
    expect(registryIds(all)).toEqual(["reg-1", "reg-2"]);
    expect(registryIds(rotations)).toEqual(["reg-1", "reg-2"]);
    expect(otherSource).toEqual([]);
    expect(otherType).toEqual([]);
    expect(() => bus.subscribe({ source: [] }, async () => {})).toThrow(/"source" must be a non-empty array/);
  });

  it("publish resolves once queued; delivery happens later, in order, per subscriber", async () => {
    const { bus } = quickBus();
    const fast: string[] = [];
    const slow: string[] = [];
    bus.subscribe({}, async (e) => void fast.push(e.detail.registryId));
    bus.subscribe({}, async (e) => {
      await new Promise((resolve) => setTimeout(resolve, e.detail.registryId === "reg-0" ? 30 : 1));
      slow.push(e.detail.registryId);
    });
    await bus.publish([rotated(0), rotated(1)]);
    expect(fast).toEqual([]); // accepted, not yet delivered
    await bus.publish([rotated(2)]);
    await bus.drain();
    expect(fast).toEqual(["reg-0", "reg-1", "reg-2"]);
    expect(slow).toEqual(["reg-0", "reg-1", "reg-2"]); // reg-0 is slow, yet nothing overtakes it
  });

  it("retries a failing handler with doubling backoff, then delivers", async () => {
    const { bus, waits } = quickBus();
    let attempts = 0;
    const delivered: string[] = [];
    bus.subscribe({}, async (e) => {
      attempts++;
      if (attempts < 3) throw new Error("target busy");
      delivered.push(e.detail.registryId);
    });
    await bus.publish([rotated(1)]);
    await bus.drain();
    expect(attempts).toBe(3);
    expect(waits).toEqual([50, 100]);
    expect(delivered).toEqual(["reg-1"]);
    expect(bus.deadLetters).toEqual([]);
  });

  it("dead-letters an event after the last attempt, keeps delivering the next ones, and logs one line", async () => {
    const { bus, waits, lines } = quickBus({ maxAttempts: 3 });
    const delivered: string[] = [];
    bus.subscribe({}, async (e) => {
      if (e.detail.registryId === "reg-1") throw new Error("no such queue\nsecond line");
      delivered.push(e.detail.registryId);
    });
    const healthy: string[] = [];
    bus.subscribe({}, async (e) => void healthy.push(e.detail.registryId));
    await bus.publish([rotated(1), rotated(2)]);
    await bus.drain();
    expect(waits).toEqual([50, 100]);
    expect(delivered).toEqual(["reg-2"]);
    expect(healthy).toEqual(["reg-1", "reg-2"]);
    expect(bus.deadLetters).toHaveLength(1);
    expect(bus.deadLetters[0]).toMatchObject({ error: "no such queue second line", attempts: 3, failedAt: "2024-02-10T10:07:30.123Z" });
    expect(bus.deadLetters[0]?.envelope.detail.registryId).toBe("reg-1");
    expect(lines).toEqual([`bus: Credential Rotated ${bus.deadLetters[0]?.envelope.id} dead-lettered after 3 attempts: no such queue second line`]);
  });

  it("keeps at most maxDeadLetters, dropping the oldest", async () => {
    const { bus } = quickBus({ maxAttempts: 1, maxDeadLetters: 3 });
    bus.subscribe({}, async () => {
      throw new Error("down");
    });
    await bus.publish([1, 2, 3, 4, 5].map((n) => rotated(n)));
    await bus.drain();
    expect(bus.deadLetters.map((d) => d.envelope.detail.registryId)).toEqual(["reg-3", "reg-4", "reg-5"]);
  });

  it("keeps 100 dead letters by default", async () => {
    const bus = new InProcessBus({ maxAttempts: 1, log: () => {} });
    bus.subscribe({}, async () => {
      throw new Error("down");
    });
    await bus.publish(Array.from({ length: 130 }, (_, n) => rotated(n)));
    await bus.drain();
    expect(bus.deadLetters).toHaveLength(100);
    expect(bus.deadLetters[0]?.envelope.detail.registryId).toBe("reg-30");
  });

  it("drain() also waits for events published by handlers while draining", async () => {
    const { bus } = quickBus();
    const seen: string[] = [];
    bus.subscribe({}, async (e) => {
      seen.push(e.detail.registryId);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (e.detail.registryId === "reg-1") await bus.publish([rotated(2)]);
    });
    await bus.publish([rotated(1)]);
    await bus.drain();
    expect(seen).toEqual(["reg-1", "reg-2"]);
  });

  it("an unsubscribed handler gets nothing more", async () => {
    const { bus } = quickBus();
    const seen: string[] = [];
    const unsubscribe = bus.subscribe({}, async (e) => void seen.push(e.detail.registryId));
    await bus.publish([rotated(1)]);
    await bus.drain();
    unsubscribe();
    await bus.publish([rotated(2)]);
    await bus.drain();
    expect(seen).toEqual(["reg-1"]);
  });

  it("events queued but not yet delivered are dropped for a handler that unsubscribes", async () => {
    const { bus } = quickBus();
    const seen: string[] = [];
    const unsubscribe = bus.subscribe({}, async (e) => void seen.push(e.detail.registryId));
    await bus.publish([rotated(1), rotated(2)]);
    unsubscribe();
    await bus.drain();
    expect(seen).toEqual([]);
  });

  it("keeps delivering and retrying in real time while a test fakes the timers", async () => {
    vi.useFakeTimers();
    const bus = new InProcessBus({ backoffMs: 1, log: () => {} });
    let attempts = 0;
    bus.subscribe({}, async () => {
      if (++attempts < 2) throw new Error("once");
    });
    await bus.publish([rotated(1)]);
    await bus.drain();
    expect(attempts).toBe(2);
    expect(bus.deadLetters).toEqual([]);
  });

  it("close() refuses new events with a clear error but delivers those already queued", async () => {
    const { bus } = quickBus();
    const seen: string[] = [];
    bus.subscribe({}, async (e) => void seen.push(e.detail.registryId));
    await bus.publish([rotated(1)]);
    bus.close();
    expect(bus.closed).toBe(true);
    const refused = bus.publish([rotated(2)]);
    await expect(refused).rejects.toBeInstanceOf(PullkeeperError);
    await expect(refused).rejects.toMatchObject({ code: "bus_closed", message: "the in-process event bus is closed: 1 event(s) not accepted" });
    await bus.drain();
    expect(seen).toEqual(["reg-1"]);
  });

  it("gives each subscriber its own copy of the event", async () => {
    const { bus } = quickBus();
    const second: EventEnvelope[] = [];
    bus.subscribe({}, async (e) => {
      (e.detail as { registryId: string }).registryId = "mutated";
    });
    bus.subscribe({}, async (e) => void second.push(e));
    await bus.publish([rotated(1)]);
    await bus.drain();
    expect(second[0]?.detail.registryId).toBe("reg-1");
  });
});
