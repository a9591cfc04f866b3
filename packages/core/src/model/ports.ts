import type { Credential } from "./credential.js";
import type { SecretValue } from "./secret-value.js";
import type { ConsumerDelivery, DeliveryOutcome, DeliveryRequest } from "../propagation/delivery.js";
import type { PullkeeperEvent } from "./events.js";
import type { Verdict } from "./verdict.js";
import type { LifecycleLedger } from "../rotation/lifecycle-ledger.js";
import type {
  CredentialVersion,
  MintedToken,
  Registry,
  RevocationReason,
  RegistryKind,
  TokenScope,
  Verification,
} from "./model.js";

/** Everything the domain asks of the outside world is one of these interfaces. */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export type Stage = "AWSCURRENT" | "AWSPENDING" | "AWSPREVIOUS";

export interface StoredCredential {
  readonly arn: string;
  readonly versionId: string;
  readonly stages: readonly string[];
  /** When this version was written: orders versions for propagation. */
  readonly createdAt: Date;
  readonly credential: Credential;
}

export interface StagedVersion {
  readonly arn: string;
  readonly versionId: string;
  /**
   * created: a new version now labelled AWSPENDING (putCurrent: AWSCURRENT); existing: the same request token was used
   * before, nothing written; unchanged: the value equals AWSCURRENT's, nothing written.
   */
  readonly outcome: "created" | "existing" | "unchanged";
}

export interface StageOptions {
  readonly rotationToken?: string;
}

/** A secret store with Secrets Manager's semantics: versions, staging labels, request tokens. */
export interface Vault {
  read(secretId: string, selector: { stage: Stage } | { versionId: string }): Promise<StoredCredential>;
  /**
   * Writes a new version labelled AWSPENDING, idempotent on requestToken (which becomes its VersionId).
   * A version Secrets Manager's RotateSecret already labelled AWSPENDING without a value gets its
   * value here. `rotationToken` is the rotation invocation's RotationToken, handed back to
   * PutSecretValue as Secrets Manager expects.
   */
  stagePending(secretId: string, value: Credential, requestToken: string, options?: StageOptions): Promise<StagedVersion>;
  /** Moves AWSCURRENT to versionId (the old current becomes AWSPREVIOUS). A no-op if it is already current. */
  promote(secretId: string, versionId: string): Promise<void>;
  /**
   * Writes a value the caller verified before writing it as the new AWSCURRENT in one write
   * (PutSecretValue with VersionStages AWSCURRENT: the old current becomes AWSPREVIOUS), idempotent
   * on requestToken. "unchanged": the value equals AWSCURRENT's, nothing written; "existing": the
   * token was written before, nothing written — not necessarily current (promote it).
   */
  putCurrent(secretId: string, value: Credential, requestToken: string): Promise<StagedVersion>;
}

/** Mints registry tokens (ECR's GetAuthorizationToken and the like). */
export interface TokenSource {
  mint(scope: TokenScope): Promise<MintedToken>;
}

export interface VerifyRequest {
  readonly host: string;
  readonly credential: Credential;
  readonly canary?: { readonly repository: string; readonly reference: string };
  /** Base URL to check instead of https://<host> (http allowed). */
  readonly endpoint?: string;
}

/** Proves a credential works against the registry itself, before anyone depends on it. */
export interface RegistryVerifier {
  verify(request: VerifyRequest): Promise<Verification>;
}

/** Keyed, one-way digests of a credential: ledger fingerprints and deterministic request tokens. */
export interface Fingerprinter {
  fingerprint(value: Credential): string;
  /** A Secrets Manager ClientRequestToken (32–64 chars) that is the same for the same secret and value. */
  requestToken(secretId: string, value: Credential): string;
}

export interface RegistryRecord {
  readonly registryId: string;
  readonly host: string;
  readonly kind: RegistryKind;
  readonly sourceType: Registry["source"]["type"];
  readonly secretArn: string;
}

/**
 * A version a refresh has verified and is about to write to the vault: what the ledger records of
 * a version, but the secret's ARN, which the write returns. Its versionId is the write's request token.
 */
export type VersionToWrite = Omit<CredentialVersion, "secretArn">;

export interface RegistryState extends RegistryRecord {
  readonly current?: CredentialVersion;
  /** The version the current one replaced (its record: `version(registryId, previousVersionId)`). */
  readonly previousVersionId?: string;
  readonly updatedAt: Date;
}

export type HistoryEntry =
  | {
      readonly type: "rotated";
      readonly registryId: string;
      readonly at: Date;
      readonly secretArn: string;
      readonly versionId: string;
      readonly expiresAt?: Date;
    }
  | {
      readonly type: "verification-failed";
      readonly registryId: string;
      readonly at: Date;
      /** Absent when the credential was refused before it was written (refresh verifies first). */
      readonly secretArn?: string;
      readonly versionId?: string;
      readonly status: Verification["status"];
      readonly detail: string;
    }
  | {
      readonly type: "refresh-failed";
      readonly registryId: string;
      readonly at: Date;
      readonly code: string;
      readonly message: string;
    }
  | {
      /** A consumer was written a version; `at` is after the provider confirmed it. */
      readonly type: "delivered";
      readonly registryId: string;
      readonly at: Date;
      readonly consumerId: string;
      readonly versionId: string;
      readonly status: "delivered" | "verified";
    }
  | {
      readonly type: "delivery-failed";
      readonly registryId: string;
      readonly at: Date;
      readonly consumerId: string;
      readonly versionId: string;
      readonly code: string;
      readonly message: string;
    }
  | {
      /** An environment's verdict changed; `to: "gone"` when it stopped running. */
      readonly type: "environment-verdict";
      readonly registryId: string;
      readonly at: Date;
      readonly consumerId: string;
      readonly environmentId: string;
      readonly name: string;
      readonly from: Verdict | null;
      readonly to: Verdict | "gone";
      readonly reason: string;
    }
  | {
      /** Someone restarted an environment through the API (it stops holding its old credential). */
      readonly type: "environment-restarted";
      readonly registryId: string;
      readonly at: Date;
      readonly consumerId: string;
      readonly environmentId: string;
      readonly name: string;
      readonly detail: string;
    }
  | {
      /** A superseded credential stopped opening the registry. */
      readonly type: "revoked";
      readonly registryId: string;
      readonly at: Date;
      readonly secretArn: string;
      readonly versionId: string;
      readonly reason: RevocationReason;
      readonly detail: string;
    }
  | {
      /** On-call put the previous credential back: its value became a new current version. */
      readonly type: "rolled-back";
      readonly registryId: string;
      readonly at: Date;
      readonly secretArn: string;
      /** The new version holding the restored value. */
      readonly versionId: string;
      readonly restoredVersionId: string;
      /** The version that was current before. */
      readonly fromVersionId: string;
    }
  | {
      readonly type: "discovery-failed";
      readonly registryId: string;
      readonly at: Date;
      readonly consumerId: string;
      readonly code: string;
      readonly message: string;
    };

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  readonly cursor?: string;
}

export interface PageRequest {
  readonly limit?: number;
  readonly cursor?: string;
}

/** The durable record of registries, their credential versions and what happened to them. */
export interface RegistryLedger {
  registryState(registryId: string): Promise<RegistryState | undefined>;
  listRegistries(page?: PageRequest): Promise<Page<RegistryState>>;
  /**
   * Records `version` as the registry's current one, unless the ledger already holds a version
   * created later: a late writer never overwrites a newer credential.
   */
  recordCurrentVersion(registry: RegistryRecord, version: CredentialVersion): Promise<"recorded" | "superseded">;
  /**
   * Records the version a refresh is about to write to the vault (replacing the one before), so a
   * run that stops between that write and recordCurrentVersion leaves the next run what the vault
   * cannot tell it: that version's expiry and verification, to take it up instead of minting again.
   */
  recordWriteIntent(version: VersionToWrite): Promise<void>;
  /** The version a refresh last set out to write (recordWriteIntent), written or not. */
  writeIntent(registryId: string): Promise<VersionToWrite | undefined>;
  appendHistory(entry: HistoryEntry): Promise<void>;
  /** Newest first. */
  history(registryId: string, page?: PageRequest): Promise<Page<HistoryEntry>>;
}

/** The durable record of each consumer's deliveries. */
export interface DeliveryLedger {
  consumerDelivery(registryId: string, consumerId: string): Promise<ConsumerDelivery | undefined>;
  /** Every consumer of a registry that has a delivery record, by consumer id. */
  consumerDeliveries(registryId: string, page?: PageRequest): Promise<Page<ConsumerDelivery>>;
  /**
   * Marks the consumer due for the request's version. "already": it was already asked for (or
   * holds) this version; "superseded": it is on a newer one, and the request must be dropped.
   * A version created at the same instant as the recorded one but with another VersionId is not
   * older (only the vault's AWSCURRENT is ever planned). `redrive`: the same version again (force,
   * a failed one's backoff is over, a lost message), only if the record is still as it was read.
   */
  markPending(request: DeliveryRequest, at: Date, options?: { readonly redrive?: Pick<ConsumerDelivery, "versionId" | "updatedAt"> }): Promise<"pending" | "already" | "superseded">;
  /** Records a success unless a newer version was asked for or delivered meanwhile. */
  recordDelivered(request: DeliveryRequest, outcome: DeliveryOutcome, at: Date): Promise<"recorded" | "superseded">;
  /**
   * Records a failed attempt; `final` marks the delivery failed for good. With `retry` the state is
   * `retrying` until `nextAttemptAt`; `counted: false` (a pause held it back) adds no attempt.
   * "superseded" when the record moved on (a newer version, or this one already delivered).
   */
  recordAttemptFailed(
    request: DeliveryRequest,
    error: { readonly code: string; readonly message: string },
    final: boolean,
    at: Date,
    retry?: { readonly nextAttemptAt: Date; readonly counted: boolean },
  ): Promise<"recorded" | "superseded">;
}

export interface Ledger extends RegistryLedger, DeliveryLedger, LifecycleLedger {}

/**
 * What every service that writes a credential version works with (refresh, rotation, rollback,
 * repair): the vault, the registry check, the ledger (as much of it as the service needs), the
 * bus, fingerprints and time.
 */
export interface CredentialPorts<L extends RegistryLedger = Ledger> {
  readonly vault: Vault;
  readonly verifier: RegistryVerifier;
  readonly ledger: L;
  readonly bus: EventBus;
  readonly fingerprints: Fingerprinter;
  readonly clock: Clock;
}

/** Publishes domain events; throws if some could not be delivered after retries. */
export interface EventBus {
  publish(events: readonly PullkeeperEvent[]): Promise<void>;
}

/** The logins a self-hosted registry accepts (an htpasswd file, say). Both calls are idempotent. */
export interface RegistryAccounts {
  setPassword(user: string, password: SecretValue): Promise<void>;
  /** Removes the user, so its password stops working; a user already gone is fine. */
  retire(user: string): Promise<void>;
}

/**
 * How a rotated source makes its next credential. Htpasswd users, Harbor and Quay robots and ACR
 * password slots alternate between two slots: the next credential goes into the slot the current
 * one does not hold, once that slot's previous holder is revoked. Docker Hub, GitLab and JFrog
 * tokens are independent: no slots, any number could be valid at once, but the rotation still
 * waits for the previous one's revocation (revocation only sees AWSPREVIOUS).
 */
export interface CredentialIssuer {
  /** The two slots the credential alternates between; absent when credentials are independent. */
  readonly slots?: readonly [string, string];
  /**
   * The slot a stored credential holds; default its username (htpasswd users, robots). May ask the
   * provider where the username does not tell (an ACR token's two passwords share its name).
   */
  slotOf?(stored: StoredCredential): string | undefined | Promise<string | undefined>;
  /**
   * createSecret: the next credential (in `slot` when the source has slots). `versionId` (the
   * rotation's token) names it at the provider, so a retried step finds what it made.
   */
  issue(request: { readonly slot?: string; readonly versionId: string }): Promise<Credential>;
  /** setSecret: makes the staged credential open the registry, idempotently; none for a provider that issued it live. */
  install?(credential: Credential): Promise<void>;
}

/** What a source does to make a superseded credential stop opening the registry (retire an htpasswd user, delete a token). */
export interface CredentialRevoker {
  /** Idempotent: a credential already revoked is fine. Never called on the current credential. */
  revoke(previous: StoredCredential, current: StoredCredential): Promise<void>;
}

export interface PasswordGenerator {
  generate(): SecretValue;
}
