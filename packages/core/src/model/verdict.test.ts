import { describe, expect, it } from "vitest";
import type { ConsumerDelivery } from "../propagation/delivery.js";
import type { CredentialVersion } from "./model.js";
import { judgeEnvironment, type DeliveredVersion, type VerdictInput } from "./verdict.js";

const t = (iso: string) => new Date(`2026-11-23T${iso}Z`);

function version(versionId: string, createdAt: Date, expiresAt?: Date): CredentialVersion {
  return { registryId: "r", secretArn: "arn", versionId, fingerprint: "f", createdAt, ...(expiresAt && { expiresAt }), verification: { status: "ok", detail: "", checkedAt: createdAt } };
}

function delivered(versionId: string, at: Date, extra: Partial<ConsumerDelivery> = {}): ConsumerDelivery {
  return { consumerId: "c", registryId: "r", state: "verified", versionId, versionCreatedAt: at, deliveredVersionId: versionId, deliveredAt: at, attempts: 1, updatedAt: at, ...extra };
}

// v1 rotated 08:00, delivered 08:00:30; v2 rotated 10:00, delivered 10:00:30.
const v1: DeliveredVersion = { versionId: "v1", deliveredAt: t("08:00:30") };
const v2: DeliveredVersion = { versionId: "v2", deliveredAt: t("10:00:30") };
const base: VerdictInput = {
  startedAt: t("09:00:00"),
  current: version("v2", t("10:00:00")),
  delivery: delivered("v2", t("10:00:30")),
  deliveries: [v2, v1],
  now: t("11:00:00"),
  clockSkewSeconds: 5,
};

describe("judgeEnvironment", () => {
  it("calls an environment started before the current version was delivered stale, since that delivery", () => {
    const result = judgeEnvironment(base);
    expect(result).toMatchObject({ verdict: "stale", heldVersionId: "v1", since: v2.deliveredAt });
    expect(result.reason).toContain("holds version v1");
  });

  it("calls one started exactly at the delivery current", () => {
    expect(judgeEnvironment({ ...base, startedAt: v2.deliveredAt })).toMatchObject({ verdict: "current", heldVersionId: "v2" });
  });

  it("calls one started exactly at the rotation, before the delivery, stale", () => {
    expect(judgeEnvironment({ ...base, startedAt: t("10:00:00") })).toMatchObject({ verdict: "stale", heldVersionId: "v1" });
  });

  it("gives the provider's clock a few seconds of skew, and not more", () => {
    expect(judgeEnvironment({ ...base, startedAt: t("10:00:26") }).verdict).toBe("current");
    expect(judgeEnvironment({ ...base, startedAt: t("10:00:25") }).verdict).toBe("current");
    expect(judgeEnvironment({ ...base, startedAt: t("10:00:24") }).verdict).toBe("stale");
    expect(judgeEnvironment({ ...base, startedAt: t("10:00:26"), clockSkewSeconds: 0 }).verdict).toBe("stale");
  });

  it("calls one whose held token expired one second ago expired, and one second before that not", () => {
    const expiring = { ...base, deliveries: [v2, { ...v1, expiresAt: t("10:59:59") }] };
    expect(judgeEnvironment(expiring)).toMatchObject({ verdict: "expired", heldVersionId: "v1", since: t("10:59:59") });
    expect(judgeEnvironment({ ...expiring, now: t("10:59:58") }).verdict).toBe("stale");
  });

  it("judges an environment older than any recorded delivery by the token lifetime", () => {
    const minted = { ...base, current: version("v2", t("10:00:00"), t("22:00:00")), deliveries: [v2], startedAt: t("06:00:00") };
    expect(judgeEnvironment({ ...minted, now: t("18:00:00") })).toMatchObject({ verdict: "expired", heldVersionId: null, since: t("18:00:00") });
    expect(judgeEnvironment({ ...minted, now: t("17:59:59") })).toMatchObject({ verdict: "stale", heldVersionId: null, since: v2.deliveredAt });
  });

  it("calls every environment of a consumer whose last delivery failed doomed, unless already expired", () => {
    const failed = delivered("v2", t("10:00:30"), { state: "failed", deliveredVersionId: "v1", lastError: { code: "unauthorized", message: "no", at: t("10:05:00") } });
    const input = { ...base, delivery: failed, deliveries: [v1] };
    expect(judgeEnvironment(input)).toMatchObject({ verdict: "doomed", since: t("10:05:00") });
    expect(judgeEnvironment(input).reason).toContain("unauthorized");
    expect(judgeEnvironment({ ...input, deliveries: [{ ...v1, expiresAt: t("10:30:00") }] }).verdict).toBe("expired");
  });

  it("calls it stale since the rotation when the current version has not reached the consumer", () => {
    const pending = delivered("v2", t("10:00:00"), { state: "pending", deliveredVersionId: "v1", deliveredAt: v1.deliveredAt });
    const result = judgeEnvironment({ ...base, startedAt: t("10:30:00"), delivery: pending, deliveries: [v1] });
    expect(result).toMatchObject({ verdict: "stale", heldVersionId: "v1", since: t("10:00:00") });
    expect(result.reason).toContain("not yet delivered");
  });

  it("has nothing to compare with before the registry's first version", () => {
    expect(judgeEnvironment({ ...base, current: undefined, delivery: undefined, deliveries: [] }).verdict).toBe("current");
  });
});
