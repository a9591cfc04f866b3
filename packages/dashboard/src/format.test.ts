import { describe, expect, it } from "vitest";
import { consumerRows, describeEntry, expiryOf, formatDuration, formatTime, mergeTimeline, nextStep, openDeliveries, plural, safeUrl, tokenFromHash, versionSpans } from "./format.js";
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

describe("dashboard times, consumers and version lines", () => {
  it("writes every time with its zone", () => {
    expect(formatTime("2030-01-02T06:12:40Z", { timeZone: "UTC" })).toBe("2 Jan, 06:12 UTC");
    expect(formatTime("2030-01-02T06:12:40Z", { timeZone: "UTC", date: false, seconds: true })).toBe("06:12:40 UTC");
    expect(formatTime("2030-01-02T06:12:40Z", { timeZone: "Asia/Tokyo" })).toBe("2 Jan, 15:12 GMT+9");
    expect(formatTime("not a time")).toBe("not a time");
  });

  it("counts with the right plural", () => {
    expect(plural(1, "version")).toBe("1 version");
    expect(plural(3, "failure")).toBe("3 failures");
  });

  it("lists every declared consumer, those needing attention first", () => {
    const consumer = (id: string, state: string | null): ConsumerView =>
      ({ id, registry: "hub", kind: "docker-config", declared: true, restart: false, discovery: null, delivery: state === null ? null : { state, versionId: "v2", deliveredVersionId: null, deliveredAt: null, attempts: 1, lastError: null, nextAttemptAt: null, redriveAt: null, failures: 0, updatedAt: "2030-01-01T00:00:00Z" } }) as ConsumerView;
    const undeclared = { ...consumer("found", null), declared: false } as ConsumerView;
    expect(consumerRows([consumer("ok", "verified"), consumer("new", null), undeclared, consumer("bad", "failed"), consumer("slow", "retrying")]).map((c) => c.id)).toEqual(["bad", "slow", "new", "ok"]);
  });

  it("makes a span per version from the rotations and the versions' lifecycle, each ending when the next began", () => {
    const history: HistoryView[] = [
      { type: "delivery-failed", registryId: "r", at: "2030-01-01T05:00:00.000Z", consumerId: "c", versionId: "v3", code: "x", message: "y" },
      { type: "rotated", registryId: "r", at: "2030-01-01T04:00:00.000Z", secretArn: "s", versionId: "v3", expiresAt: "2030-01-01T16:00:00.000Z" },
      { type: "rotated", registryId: "r", at: "2030-01-01T02:00:00.000Z", secretArn: "s", versionId: "v2" },
      { type: "rotated", registryId: "r", at: "2030-01-01T01:00:00.000Z", secretArn: "s", versionId: "v1" },
    ];
    const version = (versionId: string, role: "current" | "previous", promotedAt: string, supersededAt: string | null) => ({
      role,
      versionId,
      secretArn: "s",
      fingerprint: "f",
      createdAt: promotedAt,
      expiresAt: null,
      verification: { status: "ok" as const, detail: "", checkedAt: promotedAt },
      promotedAt,
      supersededAt,
      revoked: null,
      deliveredTo: { consumers: 1, of: 2 },
      heldBy: { environments: 0 },
    });
    const spans = versionSpans(history, { registry: "r", items: [version("v3", "current", "2030-01-01T04:00:30.000Z", null), version("v2", "previous", "2030-01-01T02:00:00.000Z", "2030-01-01T04:00:30.000Z")] });
    expect(spans.map((x) => [x.versionId, x.role, new Date(x.start).toISOString().slice(11, 16), x.end === null ? null : new Date(x.end).toISOString().slice(11, 16)])).toEqual([
      ["v1", "older", "01:00", "02:00"],
      ["v2", "previous", "02:00", "04:00"],
      ["v3", "current", "04:00", null],
    ]);
    expect(spans[2]?.expiresAt).toBe(Date.parse("2030-01-01T16:00:00.000Z"));
    expect(spans[2]?.deliveredTo).toEqual({ consumers: 1, of: 2 });
    expect(versionSpans([], null)).toEqual([]);
  });
});
