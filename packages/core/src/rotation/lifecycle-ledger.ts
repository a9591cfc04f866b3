import type { CredentialVersion, Revocation } from "../model/model.js";

/** Where the revocation of a registry's previous credential stands, as on-call sees it. */
export interface RevocationStatus {
  /** The superseded version the status is about. */
  readonly versionId: string;
  readonly state: "waiting" | "revoked";
  /** Why it waits (what still holds it), or why it went. */
  readonly reason: string;
  readonly checkedAt: Date;
  /** When the maximum overlap ends it, whatever holds it then. */
  readonly overlapEndsAt?: Date;
}

/**
 * The credential lifecycle's part of the ledger: each version's promotion, supersession and
 * revocation, the registry's revocation status, and the one-at-a-time lock a rotation holds.
 */
export interface LifecycleLedger {
  /**
   * Takes (or extends) the registry's lock for `owner` until `until`. False when someone else
   * holds an unexpired lease: one rotation, rollback or revocation per registry at a time.
   */
  acquireLock(registryId: string, owner: string, until: Date, now: Date): Promise<boolean>;
  /** Releases the lock if `owner` still holds it; a lock taken over after its lease ended is left alone. */
  releaseLock(registryId: string, owner: string): Promise<void>;
  /** Records the revocation once: "already" when the version was revoked before (a repeated run). */
  recordRevoked(version: Pick<CredentialVersion, "registryId" | "secretArn" | "versionId" | "fingerprint" | "createdAt">, revocation: Revocation): Promise<"recorded" | "already">;
  recordRevocationStatus(registryId: string, status: RevocationStatus): Promise<void>;
  revocationStatus(registryId: string): Promise<RevocationStatus | undefined>;
  /** One version's record, lifecycle included. */
  version(registryId: string, versionId: string): Promise<CredentialVersion | undefined>;
}
