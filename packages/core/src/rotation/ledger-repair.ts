import type { CredentialRotated } from "../model/events.js";
import type { CredentialVersion, Registry } from "../model/model.js";
import type { CredentialPorts, EventBus, RegistryLedger } from "../model/ports.js";
import { readIfPresent } from "../refresh/vault-reads.js";
import { verifyRequest } from "./verify-request.js";

export type LedgerRepairDependencies = CredentialPorts<RegistryLedger>;

export type RepairOutcome = "in-sync" | "repaired" | "empty" | "rotation-unfinished";

/**
 * After a crash between "promoted in the vault" and "recorded in the ledger", the two disagree:
 * the vault serves a version the ledger, the API and propagation do not know. This compares them
 * (not only AWSPENDING, which a crash after the promotion has already cleared) and closes the
 * gap: the vault's current version is verified against the registry, recorded, and announced
 * with the `Credential Rotated` event the crash swallowed.
 */
export class LedgerRepair {
  readonly #deps: LedgerRepairDependencies;

  constructor(deps: LedgerRepairDependencies) {
    this.#deps = deps;
  }

  async repair(registry: Registry): Promise<RepairOutcome> {
    const { vault, verifier, ledger, bus, fingerprints, clock } = this.#deps;
    const current = await readIfPresent(vault, registry.secret, { stage: "AWSCURRENT" });
    if (!current) return "empty";
    // Still labelled AWSPENDING: the rotation itself is unfinished and resumes with its own token.
    if (current.stages.includes("AWSPENDING")) return "rotation-unfinished";
    const state = await ledger.registryState(registry.id);
    if (state?.current?.versionId === current.versionId) return "in-sync";

    const verification = await verifier.verify(verifyRequest(registry, current.credential));
    const now = clock.now();
    if (verification.status !== "ok") {
      await ledger.appendHistory({ type: "verification-failed", registryId: registry.id, at: now, secretArn: current.arn, versionId: current.versionId, status: verification.status, detail: `the vault's current version, unknown to the ledger: ${verification.detail}` });
      return "in-sync";
    }
    const version: CredentialVersion = {
      registryId: registry.id,
      secretArn: current.arn,
      versionId: current.versionId,
      fingerprint: fingerprints.fingerprint(current.credential),
      // As finishSecret records it: the moment it is known current (vault timestamps can tie).
      createdAt: now,
      promotedAt: now,
      verification,
    };
    const recorded = await ledger.recordCurrentVersion({ registryId: registry.id, host: registry.host, kind: registry.kind, sourceType: registry.source.type, secretArn: current.arn }, version);
    if (recorded !== "recorded") return "in-sync";
    await announceRotated(ledger, bus, { registryId: registry.id, at: now, secretArn: current.arn, versionId: current.versionId });
    return "repaired";
  }
}

/** The `rotated` history entry and the `Credential Rotated` event of a version the vault made current. */
export async function announceRotated(ledger: RegistryLedger, bus: EventBus, rotated: { readonly registryId: string; readonly at: Date; readonly secretArn: string; readonly versionId: string }): Promise<void> {
  const { registryId, at, secretArn, versionId } = rotated;
  await ledger.appendHistory({ type: "rotated", registryId, at, secretArn, versionId });
  const event: CredentialRotated = { type: "Credential Rotated", detail: { registryId, secretArn, versionId } };
  await bus.publish([event]);
}
