import type { AuditSummary, DeliveredVersion, RevocationStatus, DiscoveryRecord, EnvironmentKind, EnvironmentRecord, UndeclaredRecord, Verdict } from "@pullkeeper/core";
import { date } from "./ledger-items.js";

/**
 * Audit items, in their registry's partition REG#<id>:
 *   ENV#<environmentId>     a running environment and its verdict; gsi1 VERDICT#<verdict> / <registryId>#<environmentId>
 *                           so "every stale environment" is one index Query, narrowed by registry or consumer by prefix
 *   DISC#<consumerId>       how its last discovery went
 *   AUDIT                   the last scan's counts per verdict
 *   UNDECL#<resource ARN>   a consumer nobody declared
 * and one item of its own, pk AUDIT / sk GENERATION: a fresh value at the end of every scan, so a
 * reader knows whether what it read before is still what the scan left.
 * Delivered history entries (HIST#…) carry gsi1 DLV#<registryId>#<consumerId> / <at>, so one
 * consumer's deliveries read newest first without the rest of the registry's history.
 */
export const auditKey = {
  environment: (registryId: string, environmentId: string) => ({ pk: `REG#${registryId}`, sk: `ENV#${environmentId}` }),
  discovery: (registryId: string, consumerId: string) => ({ pk: `REG#${registryId}`, sk: `DISC#${consumerId}` }),
  summary: (registryId: string) => ({ pk: `REG#${registryId}`, sk: "AUDIT" }),
  undeclared: (registryId: string, resource: string) => ({ pk: `REG#${registryId}`, sk: `UNDECL#${resource}` }),
  generation: () => ({ pk: "AUDIT", sk: "GENERATION" }),
};
export const verdictIndexKey = (verdict: Verdict) => `VERDICT#${verdict}`;
export { deliveryIndexKey } from "./ledger-items.js";

type Item = Record<string, unknown>;

export function toEnvironmentItem(e: EnvironmentRecord): Item {
  return {
    ...auditKey.environment(e.registryId, e.id),
    gsi1pk: verdictIndexKey(e.verdict),
    gsi1sk: `${e.registryId}#${e.id}`,
    id: e.id,
    registryId: e.registryId,
    consumerId: e.consumerId,
    externalId: e.externalId,
    kind: e.kind,
    name: e.name,
    startedAt: e.startedAt.toISOString(),
    status: e.status,
    url: e.url,
    detail: e.detail,
    verdict: e.verdict,
    heldVersionId: e.heldVersionId,
    verdictSince: e.verdictSince.toISOString(),
    reason: e.reason,
    firstSeenAt: e.firstSeenAt.toISOString(),
    lastSeenAt: e.lastSeenAt.toISOString(),
  };
}

export function fromEnvironmentItem(item: Item): EnvironmentRecord {
  return {
    id: item.id as string,
    registryId: item.registryId as string,
    consumerId: item.consumerId as string,
    externalId: item.externalId as string,
    kind: item.kind as EnvironmentKind,
    name: item.name as string,
    startedAt: date(item.startedAt) as Date,
    status: item.status as string,
    ...(typeof item.url === "string" && { url: item.url }),
    ...(typeof item.detail === "string" && { detail: item.detail }),
    verdict: item.verdict as Verdict,
    heldVersionId: typeof item.heldVersionId === "string" ? item.heldVersionId : null,
    verdictSince: date(item.verdictSince) as Date,
    reason: item.reason as string,
    firstSeenAt: date(item.firstSeenAt) as Date,
    lastSeenAt: date(item.lastSeenAt) as Date,
  };
}

export function toDiscoveryItem(d: DiscoveryRecord): Item {
  return { ...auditKey.discovery(d.registryId, d.consumerId), registryId: d.registryId, consumerId: d.consumerId, at: d.at.toISOString(), ok: d.ok, environments: d.environments, error: d.error };
}

export function fromDiscoveryItem(item: Item): DiscoveryRecord {
  const error = item.error as DiscoveryRecord["error"] | undefined;
  return { registryId: item.registryId as string, consumerId: item.consumerId as string, at: date(item.at) as Date, ok: item.ok === true, environments: item.environments as number, ...(error && { error }) };
}

export function toSummaryItem(s: AuditSummary): Item {
  return { ...auditKey.summary(s.registryId), registryId: s.registryId, at: s.at.toISOString(), counts: s.counts, discoveryFailures: s.discoveryFailures };
}

export function fromSummaryItem(item: Item): AuditSummary {
  return { registryId: item.registryId as string, at: date(item.at) as Date, counts: item.counts as AuditSummary["counts"], discoveryFailures: item.discoveryFailures as number };
}

export function toUndeclaredItem(u: UndeclaredRecord): Item {
  const { firstSeenAt, lastSeenAt, ...rest } = u;
  return { ...auditKey.undeclared(u.registryId, u.resource), ...rest, firstSeenAt: firstSeenAt.toISOString(), lastSeenAt: lastSeenAt.toISOString() };
}

export function fromUndeclaredItem(item: Item): UndeclaredRecord {
  const { pk: _pk, sk: _sk, firstSeenAt, lastSeenAt, ...rest } = item;
  return { ...(rest as unknown as UndeclaredRecord), firstSeenAt: date(firstSeenAt) as Date, lastSeenAt: date(lastSeenAt) as Date };
}

export function fromDeliveredHistoryItem(item: Item): DeliveredVersion {
  return { versionId: item.versionId as string, deliveredAt: date(item.at) as Date };
}

/** The REVOCATION item (written by the lifecycle ledger), here so the registry overview reads it in the same batch. */
export function fromRevocationItem(item: Item): RevocationStatus {
  const overlapEndsAt = date(item.overlapEndsAt);
  return {
    versionId: item.versionId as string,
    state: item.state as RevocationStatus["state"],
    reason: item.reason as string,
    checkedAt: date(item.checkedAt) as Date,
    ...(overlapEndsAt && { overlapEndsAt }),
  };
}
