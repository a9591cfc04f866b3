import { PullkeeperError } from "../model/errors.js";
import type { CredentialRotated } from "../model/events.js";
import type { CredentialVersion, Registry } from "../model/model.js";
import type { CredentialPorts } from "../model/ports.js";
import { withRegistryLock } from "./registry-lock.js";
import { sourceCapabilities } from "../source-modules.js";
import { readIfPresent } from "../refresh/vault-reads.js";
import { verifyRequest } from "./verify-request.js";

export interface RollbackDependencies extends CredentialPorts {
  /** A fresh ClientRequestToken for the version that carries the restored value. */
  readonly newToken: () => string;
}

export interface RollbackResult {
  readonly registryId: string;
  readonly outcome: "rolled-back";
  /** The new current version, holding the restored value. */
  readonly versionId: string;
  /** The version whose credential came back. */
  readonly restoredVersionId: string;
  /** The version that was current and is now the previous one (revoked once unused). */
  readonly fromVersionId: string;
}

/**
 * On-call's way back when a new credential breaks something: the previous credential becomes
 * current again — only if it was not revoked and still opens the registry — and is propagated.
 * Its value is written as a new version rather than moving AWSCURRENT back: consumers and the
 * ledger order versions by creation, so only a newer version reaches every consumer, and the
 * credential rolled back from becomes the previous one, revoked like any other once unused.
 */
export class RollbackService {
  readonly #deps: RollbackDependencies;

  constructor(deps: RollbackDependencies) {
    this.#deps = deps;
  }

  rollback(registry: Registry): Promise<RollbackResult> {
    const token = this.#deps.newToken();
    return withRegistryLock(this.#deps.ledger, this.#deps.clock, registry.id, token, "rollback", () => this.#rollback(registry, token));
  }

  async #rollback(registry: Registry, token: string): Promise<RollbackResult> {
    const { vault, verifier, ledger, bus, fingerprints, clock } = this.#deps;
    if (sourceCapabilities(registry).managedElsewhere) throw new PullkeeperError("rollback_unsupported", `registry ${registry.id}: its source is ${registry.source.type}; roll back where the secret is managed`);
    const current = await readIfPresent(vault, registry.secret, { stage: "AWSCURRENT" });
    const previous = await readIfPresent(vault, registry.secret, { stage: "AWSPREVIOUS" });
    if (!current || !previous) throw new PullkeeperError("no_previous_version", `registry ${registry.id}: there is no previous version to roll back to`);
    const recorded = await ledger.version(registry.id, previous.versionId);
    if (recorded?.revoked) {
      throw new PullkeeperError("previous_revoked", `registry ${registry.id}: version ${previous.versionId} was revoked at ${recorded.revoked.at.toISOString()} (${recorded.revoked.reason}); it cannot come back`);
    }
    if (recorded?.expiresAt && recorded.expiresAt.getTime() <= clock.now().getTime()) {
      throw new PullkeeperError("previous_expired", `registry ${registry.id}: version ${previous.versionId} expired at ${recorded.expiresAt.toISOString()}`);
    }
    const verification = await verifier.verify(verifyRequest(registry, previous.credential));
    if (verification.status !== "ok") {
      await ledger.appendHistory({ type: "verification-failed", registryId: registry.id, at: clock.now(), secretArn: previous.arn, versionId: previous.versionId, status: verification.status, detail: `rollback refused: ${verification.detail}` });
      throw new PullkeeperError("rollback_unverified", `registry ${registry.id}: version ${previous.versionId} no longer opens ${registry.host} (${verification.detail}); not rolled back`);
    }
    const staged = await vault.stagePending(registry.secret, previous.credential, token);
    await vault.promote(registry.secret, staged.versionId);
    const now = clock.now();
    const version: CredentialVersion = {
      registryId: registry.id,
      secretArn: staged.arn,
      versionId: staged.versionId,
      fingerprint: fingerprints.fingerprint(previous.credential),
      createdAt: now,
      promotedAt: now,
      ...(recorded?.expiresAt && { expiresAt: recorded.expiresAt }),
      verification,
    };
    await ledger.recordCurrentVersion({ registryId: registry.id, host: registry.host, kind: registry.kind, sourceType: registry.source.type, secretArn: staged.arn }, version);
    await ledger.appendHistory({ type: "rolled-back", registryId: registry.id, at: now, secretArn: staged.arn, versionId: staged.versionId, restoredVersionId: previous.versionId, fromVersionId: current.versionId });
    const event: CredentialRotated = {
      type: "Credential Rotated",
      detail: { registryId: registry.id, secretArn: staged.arn, versionId: staged.versionId, ...(recorded?.expiresAt && { expiresAt: recorded.expiresAt.toISOString() }) },
    };
    await bus.publish([event]);
    return { registryId: registry.id, outcome: "rolled-back", versionId: staged.versionId, restoredVersionId: previous.versionId, fromVersionId: current.versionId };
  }
}
