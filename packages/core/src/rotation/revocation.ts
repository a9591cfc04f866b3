import type { Consumer, ConsumerDelivery, DeliveryTarget } from "../propagation/delivery.js";
import type { DiscoveryRecord, EnvironmentLedger } from "../audit/environment-ledger.js";
import type { CredentialRevoked } from "../model/events.js";
import type { LedgerRepair } from "./ledger-repair.js";
import { type CredentialVersion, type Registry, type Revocation, type RevocationReason, revokePolicy } from "../model/model.js";
import { allPages } from "../audit/pages.js";
import type { Clock, CredentialRevoker, EventBus, Fingerprinter, Ledger, StoredCredential, Vault } from "../model/ports.js";
import { RegistryBusyError, registryLockOwner, withRegistryLock } from "./registry-lock.js";
import { type ConsumerHolding, decideRevocation } from "./revocation-decision.js";
import { readIfPresent } from "../refresh/vault-reads.js";

export interface RevocationDependencies {
  readonly registries: readonly Registry[];
  readonly consumers: readonly Consumer[];
  /** Which consumer kinds can list their running environments. */
  readonly targets: ReadonlyMap<string, Pick<DeliveryTarget, "discoverEnvironments">>;
  readonly vault: Vault;
  readonly ledger: Ledger & EnvironmentLedger;
  readonly bus: EventBus;
  readonly fingerprints: Fingerprinter;
  readonly clock: Clock;
  /** The source's revoker; undefined for sources whose old credentials simply expire or that someone else manages. */
  /** Async: a source's runtime loads on first use (docs/adding-a-source.md). */
  readonly revoker: (registry: Registry) => CredentialRevoker | undefined | Promise<CredentialRevoker | undefined>;
  /** Closes a vault/ledger gap left by a crash before deciding anything. */
  readonly repair?: LedgerRepair;
  readonly clockSkewSeconds?: number;
}

export type RevocationResult =
  | { readonly registryId: string; readonly outcome: "revoked"; readonly versionId: string; readonly reason: RevocationReason; readonly detail: string }
  | { readonly registryId: string; readonly outcome: "waiting"; readonly versionId: string; readonly reason: string; readonly overlapEndsAt: Date }
  | { readonly registryId: string; readonly outcome: "nothing"; readonly reason: string }
  /** A rotation or rollback holds the registry's lock: the next check decides. */
  | { readonly registryId: string; readonly outcome: "busy"; readonly reason: string };

/**
 * The last step of a credential's life: the previous credential is revoked only when nothing
 * uses it any more — every consumer holds the current one and the audit found nothing running
 * on the old one — or when the registry's maximum overlap has passed. Runs under the registry's
 * lock, so it never races a rotation or a rollback; the ledger's conditional record makes a
 * repeated run (after a crash between revoking and recording) revoke once and announce once.
 */
export class RevocationService {
  readonly #deps: RevocationDependencies;

  constructor(deps: RevocationDependencies) {
    this.#deps = deps;
  }

  /** Every registry whose source can revoke; one failing registry does not stop the others. */
  async run(registryIds?: readonly string[]): Promise<(RevocationResult | { readonly registryId: string; readonly outcome: "failed"; readonly code: string; readonly message: string })[]> {
    const results = [];
    for (const registry of this.#deps.registries) {
      if (registryIds !== undefined && !registryIds.includes(registry.id)) continue;
      if ((await this.#deps.revoker(registry)) === undefined) continue;
      try {
        results.push(await this.check(registry));
      } catch (error) {
        if (error instanceof RegistryBusyError) {
          results.push({ registryId: registry.id, outcome: "busy" as const, reason: error.message });
          continue;
        }
        const e = error as { code?: string; message?: string };
        results.push({ registryId: registry.id, outcome: "failed" as const, code: e.code ?? "error", message: e.message ?? String(error) });
      }
    }
    return results;
  }

  /** Decides for one registry and revokes if it may; takes the registry's lock (RegistryBusyError if held). */
  check(registry: Registry): Promise<RevocationResult> {
    return withRegistryLock(this.#deps.ledger, this.#deps.clock, registry.id, registryLockOwner("revoke"), "revocation", async () => {
      await this.#deps.repair?.repair(registry);
      return this.#check(registry);
    });
  }

  async #check(registry: Registry): Promise<RevocationResult> {
    const { vault, ledger, clock } = this.#deps;
    const revoker = await this.#deps.revoker(registry);
    if (!revoker) return { registryId: registry.id, outcome: "nothing", reason: `a ${registry.source.type} source has nothing to revoke` };
    const current = await readIfPresent(vault, registry.secret, { stage: "AWSCURRENT" });
    const previous = await readIfPresent(vault, registry.secret, { stage: "AWSPREVIOUS" });
    if (!current || !previous) return { registryId: registry.id, outcome: "nothing", reason: "no previous version" };
    const recorded = await ledger.version(registry.id, previous.versionId);
    if (recorded?.revoked) {
      const { at, reason, detail } = recorded.revoked;
      if (await this.#announced(registry.id, previous.versionId)) return { registryId: registry.id, outcome: "nothing", reason: `version ${previous.versionId} was revoked at ${at.toISOString()}` };
      // A crash after the record and before the announcement: finish it, without revoking again.
      await this.#announce(registry, previous, current, recorded.revoked);
      return { registryId: registry.id, outcome: "revoked", versionId: previous.versionId, reason, detail };
    }

    const state = await ledger.registryState(registry.id);
    const known = state?.current?.versionId === current.versionId ? state.current : undefined;
    const currentSince = known?.promotedAt ?? known?.createdAt ?? current.createdAt;
    const now = clock.now();
    const decision = decideRevocation({
      now,
      policy: revokePolicy(registry),
      currentVersionId: current.versionId,
      currentSince,
      consumers: await this.#holdings(registry, previous.versionId),
      clockSkewMs: (this.#deps.clockSkewSeconds ?? 5) * 1000,
    });
    if (decision.action === "wait") {
      await ledger.recordRevocationStatus(registry.id, { versionId: previous.versionId, state: "waiting", reason: decision.reason, checkedAt: now, overlapEndsAt: decision.overlapEndsAt });
      return { registryId: registry.id, outcome: "waiting", versionId: previous.versionId, reason: decision.reason, overlapEndsAt: decision.overlapEndsAt };
    }
    return this.revoke(registry, previous, current, decision.reason, decision.detail, recorded);
  }

  /**
   * Revokes `previous` now. The caller holds the registry's lock (check() does; so does a
   * rotation that must free the slot first).
   */
  async revoke(registry: Registry, previous: StoredCredential, current: StoredCredential, reason: RevocationReason, detail: string, recorded?: CredentialVersion): Promise<RevocationResult> {
    const { ledger, clock, fingerprints } = this.#deps;
    const revoker = await this.#deps.revoker(registry);
    if (!revoker) return { registryId: registry.id, outcome: "nothing", reason: `a ${registry.source.type} source has nothing to revoke` };
    await revoker.revoke(previous, current);
    const at = clock.now();
    const version = recorded ?? { registryId: registry.id, secretArn: previous.arn, versionId: previous.versionId, fingerprint: fingerprints.fingerprint(previous.credential), createdAt: previous.createdAt };
    const outcome = await ledger.recordRevoked(version, { at, reason, detail });
    if (outcome === "recorded") await this.#announce(registry, previous, current, { at, reason, detail });
    else if (!(await this.#announced(registry.id, previous.versionId))) {
      const revoked = (await ledger.version(registry.id, previous.versionId))?.revoked;
      if (revoked) await this.#announce(registry, previous, current, revoked);
    }
    return { registryId: registry.id, outcome: "revoked", versionId: previous.versionId, reason, detail };
  }

  /**
   * The history entry and the event, then the revocation status, last: the status says the
   * announcement went out, so a crash after the record and before it is finished by the next run
   * (announced twice only if the crash falls between the event and the status).
   */
  async #announce(registry: Registry, previous: StoredCredential, current: StoredCredential, revocation: Revocation): Promise<void> {
    const { ledger, bus } = this.#deps;
    const { at, reason, detail } = revocation;
    await ledger.appendHistory({ type: "revoked", registryId: registry.id, at, secretArn: previous.arn, versionId: previous.versionId, reason, detail });
    const event: CredentialRevoked = { type: "Credential Revoked", detail: { registryId: registry.id, secretArn: previous.arn, versionId: previous.versionId, reason, currentVersionId: current.versionId } };
    await bus.publish([event]);
    await ledger.recordRevocationStatus(registry.id, { versionId: previous.versionId, state: "revoked", reason: `${reason}: ${detail}`, checkedAt: at });
  }

  async #announced(registryId: string, versionId: string): Promise<boolean> {
    const status = await this.#deps.ledger.revocationStatus(registryId);
    return status?.versionId === versionId && status.state === "revoked";
  }

  async #holdings(registry: Registry, previousVersionId: string): Promise<ConsumerHolding[]> {
    const { ledger, targets } = this.#deps;
    const consumers = this.#deps.consumers.filter((c) => c.registryId === registry.id);
    if (consumers.length === 0) return [];
    const deliveries = new Map<string, ConsumerDelivery>();
    for (const d of await allPages((page) => ledger.consumerDeliveries(registry.id, page))) deliveries.set(d.consumerId, d);
    const discoveries = new Map<string, DiscoveryRecord>();
    for (const d of await allPages((page) => ledger.discoveries(registry.id, page))) discoveries.set(d.consumerId, d);
    // One query for the registry's environments, counted per consumer, rather than one per consumer.
    const onPrevious = new Map<string, number>();
    for (const e of await allPages((page) => ledger.environments({ registryId: registry.id }, page))) {
      if (e.heldVersionId === previousVersionId) onPrevious.set(e.consumerId, (onPrevious.get(e.consumerId) ?? 0) + 1);
    }
    return consumers.map((consumer) => {
      const discovers = targets.get(consumer.target.kind)?.discoverEnvironments !== undefined;
      const delivery = deliveries.get(consumer.id);
      const discovery = discoveries.get(consumer.id);
      return {
        consumerId: consumer.id,
        discovers,
        environmentsOnPrevious: discovers ? (onPrevious.get(consumer.id) ?? 0) : 0,
        ...(delivery && { delivery }),
        ...(discovery && { discovery }),
      };
    });
  }
}
