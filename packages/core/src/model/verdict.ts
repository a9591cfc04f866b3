import type { ConsumerDelivery } from "../propagation/delivery.js";
import type { CredentialVersion } from "./model.js";

export const VERDICTS = ["current", "stale", "expired", "doomed"] as const;
/**
 * current: holds the registry's current version. stale: holds a superseded one (it started before
 * the current version reached its consumer). expired: what it holds is past its expiry. doomed: its
 * consumer's last delivery failed, so a restart loads the old credential again.
 */
export type Verdict = (typeof VERDICTS)[number];

/** One version delivered to a consumer, as the ledger's delivery history records it. */
export interface DeliveredVersion {
  readonly versionId: string;
  readonly deliveredAt: Date;
  readonly expiresAt?: Date;
}

export interface VerdictInput {
  readonly startedAt: Date;
  /** The registry's current version; absent before the first one is recorded. */
  readonly current: CredentialVersion | undefined;
  /** The consumer's delivery record. */
  readonly delivery: ConsumerDelivery | undefined;
  /** Versions delivered to the consumer, newest first, back to at least one delivered before `startedAt` when there is one. */
  readonly deliveries: readonly DeliveredVersion[];
  readonly now: Date;
  /**
   * Provider clocks vs ours. A delivery is recorded only after the provider confirmed the write, so
   * an environment that started up to this long before the record most likely loaded it already.
   */
  readonly clockSkewSeconds: number;
}

export interface VerdictResult {
  readonly verdict: Verdict;
  /** The version it loaded at start, when the delivery history tells. */
  readonly heldVersionId: string | null;
  /** Since when the verdict holds in reality (a stale environment: since the version after the one it holds was delivered). */
  readonly since: Date;
  /** For people: why, in one sentence, with version IDs and times, never a value. */
  readonly reason: string;
}

const iso = (d: Date) => d.toISOString();

/** Judges one running environment against what the ledger knows of its consumer and registry. */
export function judgeEnvironment(input: VerdictInput): VerdictResult {
  const { startedAt, current, delivery, deliveries, now } = input;
  const loadedBy = startedAt.getTime() + input.clockSkewSeconds * 1000;
  const heldIndex = deliveries.findIndex((d) => d.deliveredAt.getTime() <= loadedBy);
  const held = heldIndex >= 0 ? deliveries[heldIndex] : undefined;
  // The first delivery it missed: from then on it runs on a superseded version.
  const missed = heldIndex > 0 ? deliveries[heldIndex - 1] : heldIndex < 0 ? deliveries.at(-1) : undefined;
  const heldVersionId = held?.versionId ?? null;

  if (held?.expiresAt !== undefined && held.expiresAt.getTime() <= now.getTime()) {
    return { verdict: "expired", heldVersionId, since: held.expiresAt, reason: `holds version ${held.versionId}, which expired at ${iso(held.expiresAt)}` };
  }
  if (!held && current?.expiresAt !== undefined) {
    // Whatever it loaded was minted before it started, so it died at most one token lifetime later.
    const lifetimeMs = current.expiresAt.getTime() - current.createdAt.getTime();
    const deadBy = new Date(startedAt.getTime() + lifetimeMs);
    if (lifetimeMs > 0 && deadBy.getTime() <= now.getTime()) {
      return { verdict: "expired", heldVersionId, since: deadBy, reason: `started at ${iso(startedAt)}, before any delivery on record; tokens last ${Math.round(lifetimeMs / 60_000)} min, so what it loaded expired by ${iso(deadBy)}` };
    }
  }
  if (delivery?.state === "failed") {
    const at = delivery.lastError?.at ?? delivery.updatedAt;
    const why = delivery.lastError ? ` (${delivery.lastError.code})` : "";
    return { verdict: "doomed", heldVersionId, since: at, reason: `its consumer's delivery of version ${delivery.versionId} failed${why}: a restart loads ${delivery.deliveredVersionId ?? "no version pullkeeper delivered"} again` };
  }
  if (!current) {
    return { verdict: "current", heldVersionId, since: startedAt, reason: "no credential version is recorded for the registry yet" };
  }
  if (heldVersionId === current.versionId) {
    return { verdict: "current", heldVersionId, since: held ? new Date(Math.max(held.deliveredAt.getTime(), startedAt.getTime())) : startedAt, reason: `holds the current version ${current.versionId}` };
  }
  // Stale since the first delivery it missed; if the current version has not reached the consumer yet, since it was created.
  const since = missed?.deliveredAt ?? current.createdAt;
  const delivered = delivery?.deliveredVersionId === current.versionId && delivery.deliveredAt ? `delivered to its consumer at ${iso(delivery.deliveredAt)}` : "not yet delivered to its consumer";
  const holds = held ? `holds version ${held.versionId}` : `started at ${iso(startedAt)}, before any delivery on record`;
  return { verdict: "stale", heldVersionId, since, reason: `${holds}; the current version ${current.versionId} was ${delivered}` };
}
