import { describe, expect, it } from "vitest";
import { gcraGrantAt, gcraLimit, gcraSlot, mergeBucketState } from "./gcra.js";

describe("GCRA arithmetic", () => {
  it("turns perSecond and burst into T and τ; burst defaults to one second's worth, at least 1", () => {
    expect(gcraLimit("github", { perSecond: 10, burst: 3 })).toEqual({ interval: 100, tolerance: 200 });
    expect(gcraLimit("github", { perSecond: 4 })).toEqual({ interval: 250, tolerance: 750 });
    expect(gcraLimit("github", { perSecond: 0.5 })).toEqual({ interval: 2000, tolerance: 0 });
  });

  it("refuses a rate or burst that could never grant, naming the provider", () => {
    expect(() => gcraLimit("gitpod", { perSecond: 0 })).toThrow(/rate limit for gitpod: perSecond must be a positive number/);
    expect(() => gcraLimit("gitpod", { perSecond: Number.NaN })).toThrow(/perSecond/);
    expect(() => gcraLimit("gitpod", { perSecond: 1, burst: 0.5 })).toThrow(/rate limit for gitpod: burst must be a number ≥ 1/);
  });

  it("an idle bucket grants now; a busy one at tat - τ; a pause empties the bucket at its end", () => {
    const limit = gcraLimit("p", { perSecond: 10, burst: 3 });
    expect(gcraSlot({ tat: undefined, pausedUntilMs: undefined }, 1000, limit)).toEqual({ floor: 1000, queued: false, slot: 1000 });
    expect(gcraSlot({ tat: 1100, pausedUntilMs: undefined }, 1000, limit)).toEqual({ floor: 1000, queued: true, slot: 1000 });
    expect(gcraSlot({ tat: 1500, pausedUntilMs: undefined }, 1000, limit)).toEqual({ floor: 1000, queued: true, slot: 1300 });
    // Paused until 2000: the bucket counts as empty then (tat ≥ 2000 + τ), so the slot is 2000 and no burst follows.
    expect(gcraSlot({ tat: 1500, pausedUntilMs: 2000 }, 1000, limit)).toEqual({ floor: 2200, queued: false, slot: 2000 });
  });

  it("a grant of several writes goes out when the first of them is due", () => {
    const limit = gcraLimit("p", { perSecond: 10, burst: 3 });
    expect(gcraGrantAt(1600, 3, limit, 1000)).toBe(1100);
    expect(gcraGrantAt(1100, 1, limit, 1000)).toBe(1000);
  });

  it("merges looks by keeping the larger of each number", () => {
    expect(mergeBucketState(undefined, { tat: 5, pausedUntilMs: undefined })).toEqual({ tat: 5, pausedUntilMs: undefined });
    expect(mergeBucketState({ tat: 9, pausedUntilMs: 3 }, { tat: 5, pausedUntilMs: undefined })).toEqual({ tat: 9, pausedUntilMs: 3 });
  });
});
