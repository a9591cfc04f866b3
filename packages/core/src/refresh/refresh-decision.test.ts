import { describe, expect, it } from "vitest";
import { decideRefresh, refreshDueAt } from "./refresh-decision.js";

const HOUR = 3600_000;
const issued = new Date("2026-11-23T00:00:00Z");
const version = { createdAt: issued, expiresAt: new Date(issued.getTime() + 12 * HOUR) };
const at = (hours: number) => new Date(issued.getTime() + hours * HOUR);

describe("decideRefresh", () => {
  it("refreshes when now ≥ expiresAt − margin, the margin defaulting to half the lifetime", () => {
    const policy = { maxJitterSeconds: 0 };
    expect(decideRefresh({ registryId: "r", now: at(5.99), current: version, policy })).toMatchObject({ due: false, reason: "fresh" });
    expect(decideRefresh({ registryId: "r", now: at(6), current: version, policy })).toMatchObject({ due: true, reason: "within-margin" });
    expect(refreshDueAt("r", version, policy)?.toISOString()).toBe("2026-11-23T06:00:00.000Z");
  });

  it("honours a configured margin", () => {
    const policy = { maxJitterSeconds: 0, marginSeconds: 3600 };
    expect(decideRefresh({ registryId: "r", now: at(10.9), current: version, policy }).due).toBe(false);
    expect(decideRefresh({ registryId: "r", now: at(11), current: version, policy }).due).toBe(true);
  });

  it("spreads registries with a stable jitter that only ever moves the refresh earlier", () => {
    const policy = { maxJitterSeconds: 300 };
    const dues = ["alpha", "beta", "gamma", "delta", "epsilon"].map((id) => refreshDueAt(id, version, policy)?.getTime() ?? 0);
    const plain = at(6).getTime();
    for (const due of dues) {
      expect(due).toBeLessThanOrEqual(plain);
      expect(due).toBeGreaterThanOrEqual(plain - 300_000);
    }
    expect(new Set(dues).size).toBe(dues.length);
    expect(refreshDueAt("alpha", version, policy)).toEqual(refreshDueAt("alpha", version, policy));
  });

  it("keeps the jitter a small share of a short margin", () => {
    const due = refreshDueAt("alpha", version, { maxJitterSeconds: 3600, marginSeconds: 600 });
    expect(version.expiresAt.getTime() - (due?.getTime() ?? 0)).toBeLessThanOrEqual(660_000);
  });

  it("is due without a current version, without a known expiry, or when forced", () => {
    const policy = { maxJitterSeconds: 0 };
    expect(decideRefresh({ registryId: "r", now: at(0), current: undefined, policy })).toMatchObject({ due: true, reason: "no-current-version" });
    expect(decideRefresh({ registryId: "r", now: at(0), current: { createdAt: issued }, policy })).toMatchObject({ due: true, reason: "no-expiry-known" });
    expect(decideRefresh({ registryId: "r", now: at(0), current: version, policy, force: true })).toMatchObject({ due: true, reason: "forced" });
  });
});
