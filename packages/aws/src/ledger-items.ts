import type { CredentialVersion, HistoryEntry, RegistryKind, RegistryState, Revocation, Verification, VersionToWrite } from "@pullkeeper/core";

/**
 * Item layout of the ledger table. One partition per registry:
 *   REG#<id> / STATE            the registry and its current version (listed through gsi1)
 *   REG#<id> / VER#<versionId>  each credential version; only its lifecycle (superseded, revoked) changes
 *   REG#<id> / INTENT           the version a refresh last set out to write to the vault (written or not)
 *   REG#<id> / HIST#<at>#<uid>  history, newest first by sort key
 *   REG#<id> / LOCK             who may rotate, roll back or revoke it now (a lease)
 *   REG#<id> / REVOCATION       where the revocation of the previous version stands
 * Dates are ISO strings so items read well in the console; the one compared in a condition
 * (currentCreatedAtMs) is a number.
 */
export const REGISTRIES_INDEX_KEY = "REGISTRIES";
export const deliveryIndexKey = (registryId: string, consumerId: string) => `DLV#${registryId}#${consumerId}`;

export const key = {
  state: (registryId: string) => ({ pk: `REG#${registryId}`, sk: "STATE" }),
  version: (registryId: string, versionId: string) => ({ pk: `REG#${registryId}`, sk: `VER#${versionId}` }),
  /** The version a refresh last set out to write to the vault. */
  writeIntent: (registryId: string) => ({ pk: `REG#${registryId}`, sk: "INTENT" }),
  /** The registry's one-at-a-time lock (rotation, rollback, revocation). */
  lock: (registryId: string) => ({ pk: `REG#${registryId}`, sk: "LOCK" }),
  /** Where the revocation of its previous credential stands. */
  revocation: (registryId: string) => ({ pk: `REG#${registryId}`, sk: "REVOCATION" }),
  history: (registryId: string, at: Date, uid: string) => ({ pk: `REG#${registryId}`, sk: `HIST#${at.toISOString()}#${uid}` }),
};

type Item = Record<string, unknown>;

const iso = (d: Date | undefined) => d?.toISOString();
/** An ISO attribute back to a Date; absent stays absent. */
export const date = (s: unknown) => (typeof s === "string" ? new Date(s) : undefined);

/** A version's attributes; one a refresh has yet to write (its write intent) has no secret ARN yet. */
export function versionAttributes(v: VersionToWrite & { readonly secretArn?: string }): Item {
  return {
    registryId: v.registryId,
    secretArn: v.secretArn,
    versionId: v.versionId,
    fingerprint: v.fingerprint,
    createdAt: iso(v.createdAt),
    expiresAt: iso(v.expiresAt),
    verification: { status: v.verification.status, detail: v.verification.detail, checkedAt: iso(v.verification.checkedAt) },
    promotedAt: iso(v.promotedAt),
    supersededAt: iso(v.supersededAt),
    revoked: v.revoked && revocationAttributes(v.revoked),
  };
}

export function revocationAttributes(r: Revocation): Item {
  return { at: iso(r.at), reason: r.reason, detail: r.detail };
}

export function toVersion(item: Item): CredentialVersion {
  const verification = item.verification as Item;
  const expiresAt = date(item.expiresAt);
  const promotedAt = date(item.promotedAt);
  const supersededAt = date(item.supersededAt);
  const revoked = item.revoked as Item | undefined;
  return {
    registryId: item.registryId as string,
    secretArn: item.secretArn as string,
    versionId: item.versionId as string,
    fingerprint: item.fingerprint as string,
    createdAt: date(item.createdAt) as Date,
    ...(expiresAt && { expiresAt }),
    verification: {
      status: verification.status as Verification["status"],
      detail: verification.detail as string,
      checkedAt: date(verification.checkedAt) as Date,
    },
    ...(promotedAt && { promotedAt }),
    ...(supersededAt && { supersededAt }),
    ...(revoked && { revoked: { at: date(revoked.at) as Date, reason: revoked.reason as Revocation["reason"], detail: revoked.detail as string } }),
  };
}

export function toVersionItem(v: CredentialVersion): Item {
  return { ...key.version(v.registryId, v.versionId), ...versionAttributes(v) };
}

export function fromStateItem(item: Item): RegistryState {
  return {
    registryId: item.registryId as string,
    host: item.host as string,
    kind: item.kind as RegistryKind,
    sourceType: item.sourceType as RegistryState["sourceType"],
    secretArn: item.secretArn as string,
    updatedAt: date(item.updatedAt) as Date,
    ...(item.current !== undefined && { current: toVersion(item.current as Item) }),
    ...(typeof item.previousVersionId === "string" && { previousVersionId: item.previousVersionId }),
  };
}

export function toHistoryItem(entry: HistoryEntry, uid: string): Item {
  const { at, ...rest } = entry;
  return {
    ...key.history(entry.registryId, at, uid),
    // A consumer's deliveries are read on their own by the audit (environment-items.ts).
    ...(entry.type === "delivered" && { gsi1pk: deliveryIndexKey(entry.registryId, entry.consumerId), gsi1sk: `${at.toISOString()}#${uid}` }),
    ...rest,
    at: iso(at),
    ...("expiresAt" in entry && entry.expiresAt !== undefined && { expiresAt: iso(entry.expiresAt) }),
  };
}

export function fromHistoryItem(item: Item): HistoryEntry {
  const { pk: _pk, sk: _sk, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, at, expiresAt, ...rest } = item;
  const expires = date(expiresAt);
  return { ...rest, at: date(at) as Date, ...(expires && { expiresAt: expires }) } as HistoryEntry;
}
