import type { RevocationStatus } from "../rotation/lifecycle-ledger.js";
import type { Consumer, ConsumerDelivery } from "../propagation/delivery.js";
import type { AuditSummary, DiscoveryRecord, EnvironmentRecord, UndeclaredRecord } from "./environment-ledger.js";
import type { CredentialVersion, Registry } from "../model/model.js";
import type { HistoryEntry, RegistryState } from "../model/ports.js";
import { failedRedriveAt } from "../propagation/propagation-plan.js";

/** The audit API's JSON: dates as ISO strings, absent values as null, never a credential value. */

const iso = (d: Date | undefined) => d?.toISOString() ?? null;

export function versionView(v: CredentialVersion | undefined) {
  if (!v) return null;
  return {
    versionId: v.versionId,
    secretArn: v.secretArn,
    fingerprint: v.fingerprint,
    createdAt: v.createdAt.toISOString(),
    expiresAt: iso(v.expiresAt),
    verification: { status: v.verification.status, detail: v.verification.detail, checkedAt: v.verification.checkedAt.toISOString() },
    promotedAt: iso(v.promotedAt),
    supersededAt: iso(v.supersededAt),
    revoked: v.revoked ? { at: v.revoked.at.toISOString(), reason: v.revoked.reason, detail: v.revoked.detail } : null,
  };
}

export function revocationView(status: RevocationStatus | undefined) {
  if (!status) return null;
  return { versionId: status.versionId, state: status.state, reason: status.reason, checkedAt: status.checkedAt.toISOString(), overlapEndsAt: iso(status.overlapEndsAt) };
}

/** A registry as the API shows it; `lifecycle` adds the previous version and where its revocation stands. */
export function registryView(registry: Registry, state: RegistryState | undefined, summary?: AuditSummary, lifecycle?: { readonly previous?: CredentialVersion | undefined; readonly revocation?: RevocationStatus | undefined }) {
  return {
    id: registry.id,
    host: registry.host,
    kind: registry.kind,
    source: registry.source.type,
    secret: state?.secretArn ?? registry.secret,
    current: versionView(state?.current),
    updatedAt: iso(state?.updatedAt),
    environments: summary ? { counts: summary.counts, scannedAt: summary.at.toISOString(), discoveryFailures: summary.discoveryFailures } : null,
    previous: versionView(lifecycle?.previous),
    revocation: revocationView(lifecycle?.revocation),
  };
}

function discoveryView(d: DiscoveryRecord | undefined) {
  return d ? { at: d.at.toISOString(), ok: d.ok, environments: d.environments, error: d.error ?? null } : null;
}

export function consumerView(consumer: Consumer, delivery: ConsumerDelivery | undefined, discovery?: DiscoveryRecord) {
  return {
    id: consumer.id,
    registry: consumer.registryId,
    kind: consumer.target.kind,
    declared: true,
    restart: consumer.restart === true,
    delivery: delivery
      ? {
          state: delivery.state,
          versionId: delivery.versionId,
          deliveredVersionId: delivery.deliveredVersionId ?? null,
          deliveredAt: iso(delivery.deliveredAt),
          attempts: delivery.attempts,
          lastError: delivery.lastError ? { ...delivery.lastError, at: delivery.lastError.at.toISOString() } : null,
          /** retrying: when the next attempt is due. */
          nextAttemptAt: delivery.state === "retrying" ? iso(delivery.nextAttemptAt) : null,
          /** failed: when reconcile plans it again by itself (POST …/redeliver does it now). */
          redriveAt: delivery.state === "failed" ? failedRedriveAt(delivery).toISOString() : null,
          failures: delivery.failures ?? 0,
          updatedAt: delivery.updatedAt.toISOString(),
        }
      : null,
    discovery: discoveryView(discovery),
  };
}

/** A consumer nobody declared, listed with the declared ones so on-call sees the whole blast radius. */
export function undeclaredView(u: UndeclaredRecord) {
  return {
    id: u.resource,
    registry: u.registryId,
    kind: u.kind,
    declared: false,
    name: u.name,
    region: u.region,
    foundIn: u.foundIn,
    secretReference: u.secretReference,
    firstSeenAt: u.firstSeenAt.toISOString(),
    lastSeenAt: u.lastSeenAt.toISOString(),
    delivery: null,
  };
}

export function environmentView(e: EnvironmentRecord, now: Date, consumer: Consumer | undefined) {
  return {
    id: e.id,
    registry: e.registryId,
    consumer: e.consumerId,
    kind: e.kind,
    name: e.name,
    externalId: e.externalId,
    status: e.status,
    startedAt: e.startedAt.toISOString(),
    url: e.url ?? null,
    detail: e.detail ?? null,
    verdict: e.verdict,
    verdictSince: e.verdictSince.toISOString(),
    /** How long it has held this verdict, for "stale for 3 h" without client-side clock math. */
    forSeconds: Math.max(0, Math.round((now.getTime() - e.verdictSince.getTime()) / 1000)),
    heldVersionId: e.heldVersionId,
    reason: e.reason,
    restartable: consumer?.restart === true && (e.verdict === "stale" || e.verdict === "expired"),
    firstSeenAt: e.firstSeenAt.toISOString(),
    lastSeenAt: e.lastSeenAt.toISOString(),
  };
}

export function historyView(entry: HistoryEntry) {
  return { ...entry, at: entry.at.toISOString(), ...("expiresAt" in entry && entry.expiresAt && { expiresAt: entry.expiresAt.toISOString() }) };
}
