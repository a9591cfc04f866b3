import { describe, expect, it } from "vitest";
import { describeEntry, expiryOf, formatDuration, mergeTimeline, nextStep, openDeliveries, safeUrl, tokenFromHash } from "./format.js";
import type { ConsumerView, HistoryView } from "./views.js";

describe("dashboard formatting", () => {
  it("formats durations the way on-call reads them", () => {
    expect(formatDuration(-5)).toBe("0 s");
    expect(formatDuration(59)).toBe("59 s");
    expect(formatDuration(60)).toBe("1 min");
    expect(formatDuration(3599)).toBe("59 min");
    expect(formatDuration(3600)).toBe("1 h 0 min");
    expect(formatDuration(3 * 3600 + 12 * 60 + 40)).toBe("3 h 12 min");
    expect(formatDuration(2 * 86400 + 4 * 3600 + 59)).toBe("2 d 4 h");
  });

  it("measures time to expiry against the version's own lifetime", () => {
    const now = new Date("2030-01-01T12:00:00Z");
    const version = (createdAt: string, expiresAt: string | null) => ({
      versionId: "v",
      secretArn: "s",
      fingerprint: "f",
      createdAt,
      expiresAt,
      verification: { status: "ok" as const, detail: "", checkedAt: createdAt },
      promotedAt: createdAt,
      supersededAt: null,
      revoked: null,
    });
    expect(expiryOf(null, now)).toBeUndefined();
    expect(expiryOf(version("2030-01-01T00:00:00Z", null), now)).toBeUndefined();
    expect(expiryOf(version("2030-01-01T09:00:00Z", "2030-01-01T21:00:00Z"), now)).toEqual({ fraction: 0.75, secondsLeft: 9 * 3600, level: "ok", label: "9 h 0 min left of 12 h 0 min" });
    expect(expiryOf(version("2030-01-01T00:00:00Z", "2030-01-01T12:30:00Z"), now)?.level).toBe("critical");
    expect(expiryOf(version("2030-01-01T00:00:00Z", "2030-01-01T15:00:00Z"), now)?.level).toBe("low");
    expect(expiryOf(version("2030-01-01T00:00:00Z", "2030-01-01T11:00:00Z"), now)).toMatchObject({ fraction: 0, level: "expired", label: "expired 1 h 0 min ago" });
  });

  it("merges histories newest first and leaves routine deliveries out", () => {
    const a: HistoryView[] = [
      { type: "delivery-failed", registryId: "a", at: "2030-01-01T03:00:00.000Z", consumerId: "c", versionId: "v2", code: "unauthorized", message: "bad token" },
      { type: "rotated", registryId: "a", at: "2030-01-01T01:00:00.000Z", secretArn: "s", versionId: "v2" },
    ];
    const b: HistoryView[] = [
      { type: "delivered", registryId: "b", at: "2030-01-01T04:00:00.000Z", consumerId: "c", versionId: "v9", status: "verified" },
      { type: "refresh-failed", registryId: "b", at: "2030-01-01T02:00:00.000Z", code: "throttled", message: "slow down" },
    ];
    expect(mergeTimeline([a, b]).map((e) => `${e.registryId}:${e.type}`)).toEqual(["a:delivery-failed", "b:refresh-failed", "a:rotated"]);
    expect(mergeTimeline([a, b], 1)).toHaveLength(1);
    expect(describeEntry(a[0] as HistoryView)).toEqual({ text: "delivery of version v2 to c failed: unauthorized: bad token", failure: true });
    expect(describeEntry(a[1] as HistoryView)).toEqual({ text: "rotated to version v2", failure: false });
  });

  it("links only web URLs", () => {
    expect(safeUrl("https://github.com/codespaces/x")).toBe("https://github.com/codespaces/x");
    expect(safeUrl("javascript:alert(1)")).toBeUndefined();
    expect(safeUrl("not a url")).toBeUndefined();
    expect(safeUrl(null)).toBeUndefined();
  });

  it("takes the token out of the fragment and keeps the rest", () => {
    expect(tokenFromHash("#token=abc")).toEqual({ token: "abc", rest: "" });
    expect(tokenFromHash("#view=x&token=a%2Bb")).toEqual({ token: "a+b", rest: "#view=x" });
    expect(tokenFromHash("")).toEqual({ token: undefined, rest: "" });
    expect(tokenFromHash("#token=")).toEqual({ token: undefined, rest: "" });
    expect(tokenFromHash("#token=a+b_c-d&x")).toEqual({ token: "a+b_c-d", rest: "#x" });
  });

  it("lists the deliveries that are not done, failed first, and says what happens next", () => {
    const now = new Date("2030-01-01T12:00:00Z");
    const consumer = (id: string, state: string | null, extra: Record<string, unknown> = {}): ConsumerView =>
      ({
        id,
        registry: "hub",
        kind: "codespaces-secret",
        declared: true,
        restart: false,
        discovery: null,
        delivery: state === null ? null : { state, versionId: "v2", deliveredVersionId: null, deliveredAt: null, attempts: 2, lastError: null, nextAttemptAt: null, redriveAt: null, failures: 0, updatedAt: now.toISOString(), ...extra },
      }) as ConsumerView;
    const list = openDeliveries([
      consumer("done", "delivered"),
      consumer("late", "retrying", { nextAttemptAt: "2030-01-01T12:03:00Z" }),
      consumer("never", null),
      consumer("soon", "retrying", { nextAttemptAt: "2030-01-01T12:00:45Z" }),
      consumer("broken", "failed", { redriveAt: "2030-01-01T12:52:00Z" }),
      consumer("new", "pending"),
    ]);
    expect(list.map((c) => c.id)).toEqual(["broken", "soon", "late", "new"]);
    expect(list.map((c) => nextStep(c.delivery, now))).toEqual([
      "fix the cause and redeliver; reconcile tries again in 52 min",
      "next attempt in 45 s",
      "next attempt in 3 min",
      "being delivered",
    ]);
  });
});
