import type { DiscoveredEnvironment, UndeclaredConsumer } from "./environments.js";
import type { CredentialVersion } from "../model/model.js";
import type { Page, PageRequest, RegistryState } from "../model/ports.js";
import type { RevocationStatus } from "../rotation/lifecycle-ledger.js";
import type { DeliveredVersion, Verdict } from "../model/verdict.js";

/** A running environment as the audit last saw and judged it. */
export interface EnvironmentRecord extends DiscoveredEnvironment {
  /** `<consumerId>.<digest of externalId>`: stable, URL-safe, and names its consumer. */
  readonly id: string;
  readonly registryId: string;
  readonly consumerId: string;
  readonly verdict: Verdict;
  readonly heldVersionId: string | null;
  /** Since when the verdict holds in reality (a stale one: since the delivery it missed). */
  readonly verdictSince: Date;
  readonly reason: string;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
}

/** How one consumer's last discovery went: failures are recorded, not swallowed. */
export interface DiscoveryRecord {
  readonly registryId: string;
  readonly consumerId: string;
  readonly at: Date;
  readonly ok: boolean;
  readonly environments: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** One registry's counts after the last audit scan: what GET /v1/registries/{id} shows without reading every environment. */
export interface AuditSummary {
  readonly registryId: string;
  readonly at: Date;
  readonly counts: Readonly<Record<Verdict, number>>;
  readonly discoveryFailures: number;
}

export interface UndeclaredRecord extends UndeclaredConsumer {
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
}

/** What a registry's view shows of the ledger, read together. */
export interface RegistryOverview {
  readonly state?: RegistryState;
  readonly summary?: AuditSummary;
  readonly revocation?: RevocationStatus;
  /** The version the current one replaced, when there is one. */
  readonly previous?: CredentialVersion;
}

/** One registry's environments (optionally one consumer's), or one verdict's across registries, optionally narrowed. */
export type EnvironmentQuery =
  | { readonly registryId: string; readonly consumerId?: string; readonly verdict?: Verdict }
  | { readonly verdict: Verdict; readonly registryId?: undefined; readonly consumerId?: undefined };

/** The audit's part of the ledger: served by keys and indexes only, every list paginated. */
export interface EnvironmentLedger {
  environments(query: EnvironmentQuery, page?: PageRequest): Promise<Page<EnvironmentRecord>>;
  environment(registryId: string, environmentId: string): Promise<EnvironmentRecord | undefined>;
  putEnvironment(record: EnvironmentRecord): Promise<void>;
  removeEnvironment(registryId: string, environmentId: string): Promise<void>;
  recordDiscovery(record: DiscoveryRecord): Promise<void>;
  discoveries(registryId: string, page?: PageRequest): Promise<Page<DiscoveryRecord>>;
  recordAuditSummary(summary: AuditSummary): Promise<void>;
  auditSummary(registryId: string): Promise<AuditSummary | undefined>;
  undeclaredConsumers(registryId: string, page?: PageRequest): Promise<Page<UndeclaredRecord>>;
  putUndeclared(record: UndeclaredRecord): Promise<void>;
  removeUndeclared(registryId: string, resource: string): Promise<void>;
  /** Versions delivered to one consumer, newest first (the ledger's `delivered` history entries). */
  deliveryHistory(registryId: string, consumerId: string, page?: PageRequest): Promise<Page<DeliveredVersion>>;
  version(registryId: string, versionId: string): Promise<CredentialVersion | undefined>;
  /**
   * Where the audit's items stand: a value that changes whenever they may have (every scan marks its
   * end), so a reader may serve what it read under one generation until the generation moves.
   * `maxAgeMs`: how old a generation read from the store may be before it is read again.
   * Optional: a ledger without it is read afresh for every request.
   */
  auditGeneration?(options?: { readonly maxAgeMs?: number }): Promise<string>;
  /** Marks the end of a scan's writes: every reader's auditGeneration() moves on. */
  markAuditGeneration?(): Promise<void>;
  /** Each registry's overview in few round trips (consistent reads); optional: without it, item by item. */
  registryOverviews?(registryIds: readonly string[]): Promise<ReadonlyMap<string, RegistryOverview>>;
}
