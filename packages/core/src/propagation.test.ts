import { describe, expect, it } from "vitest";
import { credential } from "./credential.js";
import { type Consumer, DeliveryError, type DeliveryRequest, type DeliveryTarget } from "./delivery.js";
import type { PullkeeperEvent } from "./events.js";
import type { HistoryEntry, Ledger, StoredCredential, Vault } from "./ports.js";
import { PropagationService } from "./propagation.js";

const NOW = new Date("2026-11-23T12:00:00Z");
const consumer: Consumer = { id: "c1", registryId: "r", target: { kind: "t" } };
const request: DeliveryRequest = { consumerId: "c1", registryId: "r", secretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:s-AbCdEf", versionId: "v1", versionCreatedAt: NOW };

function world(deliver: DeliveryTarget["deliver"], stages: string[] = ["AWSCURRENT"]) {
  const pauses: [string, number][] = [];
  const failures: { final: boolean; code: string }[] = [];
  const events: PullkeeperEvent[] = [];
  const history: HistoryEntry[] = [];
  const stored: StoredCredential = { arn: request.secretArn, versionId: "v1", stages, createdAt: NOW, credential: credential("robot", "pw-Secret-42") };
  const service = new PropagationService({
    registries: [{ id: "r", host: "ghcr.io", kind: "ghcr", source: { type: "managed-secret" }, secret: "s", verify: {} }],
    consumers: [consumer],
    targets: new Map([["t", { kind: "t", schema: undefined as never, provider: () => "p", deliver }]]),
    vault: { read: async () => stored } as unknown as Vault,
    ledger: {
      consumerDelivery: async () => undefined,
      recordDelivered: async () => "recorded",
      appendHistory: async (entry: HistoryEntry) => void history.push(entry),
      recordAttemptFailed: async (_r: DeliveryRequest, e: { code: string }, final: boolean) => (failures.push({ final, code: e.code }), "recorded"),
    } as unknown as Ledger,
    queue: { send: async () => undefined },
    bus: { publish: async (e) => void events.push(...e) },
    rateLimiter: { acquire: async () => undefined, pause: async (p, until) => void pauses.push([p, until]) },
    clock: { now: () => NOW },
  });
  return { service, pauses, failures, events, history };
}

describe("PropagationService.deliver", () => {
  it("honours Retry-After, and pauses every worker briefly on throttling without one", async () => {
    const withRetryAfter = world(async () => {
      throw new DeliveryError("throttled", "429", { retryable: true, retryAfterMs: 3_000 });
    });
    await expect(withRetryAfter.service.deliver(request, { number: 1, final: false })).rejects.toMatchObject({ code: "throttled" });
    expect(withRetryAfter.pauses).toEqual([["p", NOW.getTime() + 3_000]]);
    const bare = world(async () => {
      throw new DeliveryError("throttled", "Rate exceeded", { retryable: true });
    });
    await expect(bare.service.deliver(request, { number: 1, final: false })).rejects.toMatchObject({ code: "throttled" });
    expect(bare.pauses).toEqual([["p", NOW.getTime() + 1_000]]);
  });

  it("fails at once on a non-retryable error and tells on-call, without the value", async () => {
    const w = world(async () => {
      throw new DeliveryError("unauthorized", "token refused", { retryable: false });
    });
    expect(await w.service.deliver(request, { number: 1, final: false })).toEqual({ outcome: "failed", code: "unauthorized", message: "token refused" });
    expect(w.failures).toEqual([{ final: true, code: "unauthorized" }]);
    expect(w.events).toEqual([{ type: "Delivery Failed", detail: expect.objectContaining({ consumerId: "c1", code: "unauthorized", attempts: 1 }) }]);
    expect(JSON.stringify(w.events)).not.toContain("pw-Secret-42");
    expect(w.history).toEqual([expect.objectContaining({ type: "delivery-failed", consumerId: "c1", code: "unauthorized" })]);
    expect(JSON.stringify(w.history)).not.toContain("pw-Secret-42");
  });

  it("records each delivery in the registry's history, which the audit reads back", async () => {
    const w = world(async () => ({ status: "verified", detail: "read back" }));
    expect(await w.service.deliver(request, { number: 1, final: false })).toMatchObject({ outcome: "delivered" });
    expect(w.history).toEqual([{ type: "delivered", registryId: request.registryId, consumerId: "c1", versionId: request.versionId, status: "verified", at: expect.any(Date) }]);
  });

  it("drops a version that is no longer AWSCURRENT instead of sending it", async () => {
    let sent = 0;
    const w = world(async () => (sent++, { status: "delivered", detail: "" }), ["AWSPREVIOUS"]);
    expect(await w.service.deliver(request, { number: 1, final: false })).toEqual({ outcome: "skipped", reason: "superseded" });
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
      rateLimiter: { acquire: async () => undefined, pause: async () => undefined },
      clock: { now: () => NOW },
      deliveryTimeoutMs: 20,
    });
    await expect(timed.deliver(request, { number: 1, final: false })).rejects.toMatchObject({ code: "timeout", retryable: true });
  });
});
