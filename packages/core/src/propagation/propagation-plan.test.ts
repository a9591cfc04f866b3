import { describe, expect, it } from "vitest";
import type { Consumer, ConsumerDelivery } from "./delivery.js";
import { DEFAULT_REDRIVE, describeStanding, failedRedriveAt, planDeliveries, planStanding, retryDelayMs } from "./propagation-plan.js";

const t = (minutes: number) => new Date(Date.UTC(2026, 10, 23, 12, minutes));
const current = { registryId: "r", secretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:s-AbCdEf", versionId: "v2", createdAt: t(0) };
const consumer = (id: string): Consumer => ({ id, registryId: "r", target: { kind: "test" } });
const state = (consumerId: string, over: Partial<ConsumerDelivery>): ConsumerDelivery => ({
  consumerId, registryId: "r", state: "delivered", versionId: "v1", versionCreatedAt: t(-60), attempts: 1, updatedAt: t(-60), ...over,
});
const ids = (planned: ReturnType<typeof planDeliveries>) => planned.map((p) => p.request.consumerId);
const HOUR = 60;

describe("planDeliveries", () => {
  const consumers = ["new", "behind", "current", "in-flight", "lost", "failed", "ahead", "retrying", "retry-lost"].map(consumer);
  const states = new Map<string, ConsumerDelivery>([
    ["behind", state("behind", { deliveredVersionId: "v1" })],
    ["current", state("current", { versionId: "v2", versionCreatedAt: t(0), deliveredVersionId: "v2" })],
    ["in-flight", state("in-flight", { state: "pending", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(5) })],
    ["lost", state("lost", { state: "pending", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(-20) })],
    ["failed", state("failed", { state: "failed", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(1), failures: 1, lastError: { code: "unauthorized", message: "401", at: t(1) } })],
    ["ahead", state("ahead", { versionId: "v3", versionCreatedAt: t(30), deliveredVersionId: "v3" })],
    // Its next attempt is due in 50 minutes (a long Retry-After): its message is waiting, not lost.
    ["retrying", state("retrying", { state: "retrying", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(-30), nextAttemptAt: t(56) })],
    // Due 20 minutes ago and still retrying: the message was lost.
    ["retry-lost", state("retry-lost", { state: "retrying", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(-30), nextAttemptAt: t(-14) })],
  ]);

  it("plans consumers that are new, behind, or whose message was lost; leaves the rest", () => {
    const planned = planDeliveries(current, consumers, states, { now: t(6), stalePendingMs: 15 * 60_000 });
    expect(ids(planned)).toEqual(["new", "behind", "lost", "retry-lost"]);
    expect(planned[0]).toEqual({ request: { consumerId: "new", registryId: "r", secretArn: current.secretArn, versionId: "v2", versionCreatedAt: t(0) } });
    // A consumer whose record is already on this version is re-driven on the record as it was read.
    expect(planned.find((p) => p.request.consumerId === "lost")?.redrive).toBe(states.get("lost"));
    expect(planned.find((p) => p.request.consumerId === "behind")?.redrive).toBeUndefined();
  });

  it("re-drives current and failed ones when forced, but never sends a consumer back to an older version", () => {
    const planned = planDeliveries(current, consumers, states, { now: t(6), stalePendingMs: 15 * 60_000, force: true });
    expect(ids(planned)).toEqual(["new", "behind", "current", "in-flight", "lost", "failed", "retrying", "retry-lost"]);
  });

  it("plans a consumer that failed for good again once its backoff is over: 1 h, then doubling, capped at 24 h", () => {
    const failedAt = t(1);
    const failed = (failures: number) => new Map([["failed", state("failed", { state: "failed", versionId: "v2", versionCreatedAt: t(0), updatedAt: failedAt, failures, lastError: { code: "not_found", message: "404", at: failedAt } })]]);
    const plannedAt = (failures: number, minutes: number) => ids(planDeliveries(current, [consumer("failed")], failed(failures), { now: t(1 + minutes), stalePendingMs: 15 * 60_000 }));
    expect(plannedAt(1, HOUR - 1)).toEqual([]);
    expect(plannedAt(1, HOUR)).toEqual(["failed"]);
    expect(plannedAt(2, 2 * HOUR - 1)).toEqual([]);
    expect(plannedAt(2, 2 * HOUR)).toEqual(["failed"]);
    expect(plannedAt(3, 4 * HOUR)).toEqual(["failed"]);
    expect(plannedAt(9, 24 * HOUR - 1)).toEqual([]);
    expect(plannedAt(9, 24 * HOUR)).toEqual(["failed"]);
    expect(failedRedriveAt({ failures: 40, updatedAt: failedAt })).toEqual(new Date(failedAt.getTime() + DEFAULT_REDRIVE.maxMs));
  });

  it("a queue that holds nothing from before its start (the embedded runtime's): a pending or retrying record from before then lost its message and is planned at once", () => {
    // The runtime restarted at t(6): in-flight (pending since t(5)) and retrying (due at t(56)) had their messages in the old process.
    const planned = planDeliveries(current, consumers, states, { now: t(7), stalePendingMs: 15 * 60_000, queueHoldsSince: t(6) });
    expect(ids(planned)).toEqual(["new", "behind", "in-flight", "lost", "retrying", "retry-lost"]);
    // The retrying one comes back for its recorded next attempt, not before; the others at once.
    expect(planned.find((p) => p.request.consumerId === "retrying")?.notBefore).toEqual(t(56));
    expect(planned.filter((p) => p.notBefore !== undefined).map((p) => p.request.consumerId)).toEqual(["retrying"]);
    // Records written since the start belong to messages the queue holds: left alone.
    expect(ids(planDeliveries(current, consumers, states, { now: t(7), stalePendingMs: 15 * 60_000, queueHoldsSince: t(-40) }))).toEqual(["new", "behind", "lost", "retry-lost"]);
  });

  it("a version created at the same instant as the recorded one, with another VersionId, is not older: it is planned", () => {
    const twin = new Map([["c", state("c", { versionId: "v1", versionCreatedAt: t(0), deliveredVersionId: "v1" })]]);
    expect(ids(planDeliveries(current, [consumer("c")], twin, { now: t(6), stalePendingMs: 15 * 60_000 }))).toEqual(["c"]);
  });
});

describe("why nothing was planned", () => {
  it("says every consumer holds the version, or who is in flight, retrying or failed for good", () => {
    const held = new Map(["a", "b"].map((id) => [id, state(id, { versionId: "v2", versionCreatedAt: t(0), deliveredVersionId: "v2" })]));
    expect(describeStanding(planStanding(current, [consumer("a"), consumer("b")], held), "v2")).toBe("all 2 consumers already hold version v2");
    const one = new Map([["a", state("a", { versionId: "v2", versionCreatedAt: t(0), deliveredVersionId: "v2" })]]);
    expect(describeStanding(planStanding(current, [consumer("a")], one), "v2")).toBe("its one consumer already holds version v2");

    const mixed = new Map<string, ConsumerDelivery>([
      ["a", state("a", { versionId: "v2", versionCreatedAt: t(0), deliveredVersionId: "v2" })],
      ["b", state("b", { state: "failed", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(1), failures: 1 })],
      ["c", state("c", { state: "retrying", versionId: "v2", versionCreatedAt: t(0), nextAttemptAt: t(9) })],
      ["d", state("d", { state: "pending", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(5) })],
    ]);
    const standing = planStanding(current, ["a", "b", "c", "d"].map(consumer), mixed);
    expect(standing).toEqual({ consumers: 4, holding: 1, inFlight: 1, retrying: 1, nextAttemptAt: t(9), failed: 1, nextRedriveAt: t(1 + HOUR) });
    expect(describeStanding(standing, "v2")).toBe(
      `1 of 4 consumers hold version v2; 1 being delivered; 1 retrying (next attempt ${t(9).toISOString()}); 1 failed for good (reconcile tries again from ${t(1 + HOUR).toISOString()}; use --force to redeliver now)`,
    );
  });
});

describe("retryDelayMs", () => {
  it("doubles from the base to the cap, between half the ceiling and the ceiling", () => {
    const policy = { baseMs: 2_000, maxMs: 900_000 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 1))).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(retryDelayMs(30, policy, () => 1)).toBe(900_000);
    expect(retryDelayMs(1_000, policy, () => 0)).toBe(450_000);
  });
});
