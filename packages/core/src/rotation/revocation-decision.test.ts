import { describe, expect, it } from "vitest";
import type { ConsumerDelivery } from "../propagation/delivery.js";
import { type ConsumerHolding, decideRevocation } from "./revocation-decision.js";

const T0 = new Date("2026-12-01T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const policy = { afterSeconds: 24 * 3600, whenInUse: "wait" as const };

function delivered(consumerId: string, versionId: string, seconds: number): ConsumerDelivery {
  return { consumerId, registryId: "r", state: "delivered", versionId, versionCreatedAt: T0, deliveredVersionId: versionId, deliveredAt: at(seconds), attempts: 1, updatedAt: at(seconds) };
}
function holding(consumerId: string, options: Partial<ConsumerHolding> & { deliveredAt?: number; version?: string; scannedAt?: number; ok?: boolean } = {}): ConsumerHolding {
  const { deliveredAt, version = "v2", scannedAt, ok = true, ...rest } = options;
  return {
    consumerId,
    discovers: true,
    environmentsOnPrevious: 0,
    ...(deliveredAt !== undefined && { delivery: delivered(consumerId, version, deliveredAt) }),
    ...(scannedAt !== undefined && { discovery: { registryId: "r", consumerId, at: at(scannedAt), ok, environments: 0, ...(ok ? {} : { error: { code: "unavailable", message: "down" } }) } }),
    ...rest,
  };
}
const decide = (consumers: ConsumerHolding[], nowSeconds = 600) =>
  decideRevocation({ now: at(nowSeconds), policy, currentVersionId: "v2", currentSince: T0, consumers, clockSkewMs: 5_000 });

describe("decideRevocation", () => {
  it("revokes at once when nothing consumes the registry", () => {
    expect(decide([])).toMatchObject({ action: "revoke", reason: "unused" });
  });

  it("waits while any consumer lacks the current version, naming who", () => {
    const d = decide([holding("a", { deliveredAt: 10, scannedAt: 60 }), holding("b", { deliveredAt: 10, version: "v1", scannedAt: 60 })]);
    expect(d).toMatchObject({ action: "wait", overlapEndsAt: at(24 * 3600) });
    expect(d.action === "wait" && d.reason).toMatch(/^1 of 2 consumers hold the current version; waiting for b \(delivered\)/);
  });

  it("waits for a scan that started after the delivery (plus the clock skew), then for nothing running on the previous version", () => {
    expect(decide([holding("a", { deliveredAt: 100 })])).toMatchObject({ action: "wait", reason: expect.stringMatching(/no audit scan has looked/) });
    expect(decide([holding("a", { deliveredAt: 100, scannedAt: 90 })])).toMatchObject({ action: "wait", reason: expect.stringMatching(/no audit scan of a since/) });
    expect(decide([holding("a", { deliveredAt: 100, scannedAt: 104 })])).toMatchObject({ action: "wait" });
    expect(decide([holding("a", { deliveredAt: 100, scannedAt: 105 })])).toMatchObject({ action: "revoke", reason: "unused", detail: expect.stringMatching(/^its one consumer holds the current version;/) });
    expect(decide([holding("a", { deliveredAt: 100, scannedAt: 105 }), holding("b", { deliveredAt: 100, scannedAt: 105 })])).toMatchObject({ detail: expect.stringMatching(/^all 2 consumers hold the current version;/) });
    expect(decide([holding("a", { deliveredAt: 100, scannedAt: 200, ok: false })])).toMatchObject({ action: "wait", reason: expect.stringMatching(/could not list a's environments \(unavailable\)/) });
    expect(decide([holding("a", { deliveredAt: 100, scannedAt: 200, environmentsOnPrevious: 2 })])).toMatchObject({ action: "wait", reason: "2 running environment(s) of a still hold the previous version" });
  });

  it("does not wait on a consumer kind that cannot list environments: its delivery is what counts", () => {
    expect(decide([holding("hook", { deliveredAt: 100, discovers: false })])).toMatchObject({ action: "revoke", reason: "unused" });
    expect(decide([holding("hook", { discovers: false })])).toMatchObject({ action: "wait" });
  });

  it("ends the overlap at the maximum whatever still holds it, exactly at the boundary", () => {
    const stuck = [holding("a", { deliveredAt: 100, scannedAt: 200, environmentsOnPrevious: 3 })];
    expect(decide(stuck, 24 * 3600 - 1)).toMatchObject({ action: "wait" });
    expect(decide(stuck, 24 * 3600)).toMatchObject({ action: "revoke", reason: "max-overlap" });
  });
});
