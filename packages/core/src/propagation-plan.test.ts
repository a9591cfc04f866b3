import { describe, expect, it } from "vitest";
import type { Consumer, ConsumerDelivery } from "./delivery.js";
import { planDeliveries } from "./propagation-plan.js";

const t = (minutes: number) => new Date(Date.UTC(2026, 10, 23, 12, minutes));
const current = { registryId: "r", secretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:s-AbCdEf", versionId: "v2", createdAt: t(0) };
const consumer = (id: string): Consumer => ({ id, registryId: "r", target: { kind: "test" } });
const state = (consumerId: string, over: Partial<ConsumerDelivery>): ConsumerDelivery => ({
  consumerId, registryId: "r", state: "delivered", versionId: "v1", versionCreatedAt: t(-60), attempts: 1, updatedAt: t(-60), ...over,
});

describe("planDeliveries", () => {
  const consumers = ["new", "behind", "current", "in-flight", "lost", "failed", "ahead"].map(consumer);
  const states = new Map<string, ConsumerDelivery>([
    ["behind", state("behind", { deliveredVersionId: "v1" })],
    ["current", state("current", { versionId: "v2", versionCreatedAt: t(0), deliveredVersionId: "v2" })],
    ["in-flight", state("in-flight", { state: "pending", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(5) })],
    ["lost", state("lost", { state: "pending", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(-20) })],
    ["failed", state("failed", { state: "failed", versionId: "v2", versionCreatedAt: t(0), updatedAt: t(1) })],
    ["ahead", state("ahead", { versionId: "v3", versionCreatedAt: t(30), deliveredVersionId: "v3" })],
  ]);

  it("plans consumers that are new, behind, or whose pending message was lost; leaves the rest", () => {
    const planned = planDeliveries(current, consumers, states, { now: t(6), stalePendingMs: 15 * 60_000 });
    expect(planned.map((p) => p.consumerId)).toEqual(["new", "behind", "lost"]);
    expect(planned[0]).toEqual({ consumerId: "new", registryId: "r", secretArn: current.secretArn, versionId: "v2", versionCreatedAt: t(0) });
  });

  it("re-drives current and failed ones when forced, but never sends a consumer back to an older version", () => {
    const planned = planDeliveries(current, consumers, states, { now: t(6), stalePendingMs: 15 * 60_000, force: true });
    expect(planned.map((p) => p.consumerId)).toEqual(["new", "behind", "current", "in-flight", "lost", "failed"]);
  });
});
