import { NotFoundError, PullkeeperError } from "../model/errors.js";
import type { CredentialVersion, Registry, RegistrySource } from "../model/model.js";
import { revokePolicy } from "../model/model.js";
import { sourceCapabilities } from "../source-modules.js";
import type { CredentialIssuer, CredentialPorts, StoredCredential } from "../model/ports.js";
import { lockRegistry } from "./registry-lock.js";
import { announceRotated } from "./ledger-repair.js";
import { readIfPresent } from "../refresh/vault-reads.js";
import { verifyRequest } from "./verify-request.js";
import type { RevocationService } from "./revocation.js";

/** Secrets Manager's rotation-Lambda protocol, step names as it sends them. */
export const ROTATION_STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** The source of a registry pullkeeper rotates: whatever its type, it has a rotation schedule. */
export interface RotatedSource extends RegistrySource {
  /** Rotation schedule, rate(...) or cron(...). */
  readonly rotation: string;
  /** Seconds a credential the source makes lives at the provider, where they expire (checkLifetime holds it to ≥ 2 rotation gaps). */
  readonly lifetime?: number;
}

export type RotatedRegistry = Registry & { readonly source: RotatedSource };

/** A registry whose credential pullkeeper rotates (its source module's `rotates`). */
export function isRotated(registry: Registry): registry is RotatedRegistry {
  return sourceCapabilities(registry).rotates;
}

export interface RotationDependencies extends CredentialPorts {
  /** How the registry's source makes its next credential (its module's runtime; async, as it loads on first use). */
  readonly issuer: (registry: RotatedRegistry) => CredentialIssuer | Promise<CredentialIssuer>;
  /** Frees the idle user's slot when the registry's policy says "revoke first" (whenInUse: revoke). */
  readonly revocation?: Pick<RevocationService, "revoke">;
  /**
   * Whether the registry's source revokes superseded credentials (its runtime has a revoker). A
   * source without slots that does waits for its previous credential's revocation before
   * rotating; unset: it is not known to, and does not wait.
   */
  readonly revokes?: (registry: RotatedRegistry) => boolean | Promise<boolean>;
  /** A fresh ClientRequestToken for a rotation that is not resuming (Secrets Manager makes a UUID). */
  readonly newToken: () => string;
  /** Test seam: called after each step completes, so a test can stop the process between steps. */
  readonly afterStep?: (step: RotationStep, token: string) => Promise<void> | void;
  /** Test seam: called inside finishSecret once the vault has promoted, before the ledger knows. */
  readonly afterPromote?: (token: string) => Promise<void> | void;
}

export interface RotationResult {
  readonly registryId: string;
  readonly versionId: string;
  /** True when an unfinished rotation (AWSPENDING left by a crash) was completed instead of starting anew. */
  readonly resumed: boolean;
}

/** The idle user's previous credential is still held and the policy says wait. */
export class SlotInUseError extends PullkeeperError {
  constructor(registryId: string, user: string, versionId: string, reason: string) {
    super("previous_in_use", `registry ${registryId}: user ${user} still carries version ${versionId}, which is not revoked yet (${reason}); the rotation waits until it is (revoke.whenInUse: wait)`);
  }
}

/**
 * A source without slots (independent tokens) whose previous credential is not revoked yet: a
 * third credential would take AWSPREVIOUS from it, and revocation (which revokes AWSPREVIOUS) would
 * never see it again, leaving it valid until it expires.
 */
export class PreviousNotRevokedError extends PullkeeperError {
  constructor(registryId: string, versionId: string, reason: string) {
    super(
      "previous_in_use",
      `registry ${registryId}: the previous credential (version ${versionId}) is not revoked yet (${reason}); a new one now would leave it valid, out of revocation's sight, until it expires, so the rotation waits until it is revoked (revoke.whenInUse: wait)`,
    );
  }
}

/**
 * Zero-downtime rotation of a self-hosted registry's password by alternating two users: the
 * idle user gets a new password (create, set), it is proven to work (test), and it becomes
 * current (finish). The previous user keeps working: revoking it is the RevocationService's job,
 * once nothing uses it. A rotation never overwrites a user whose credential is still held.
 * Each step is idempotent and takes the registry's lock (owner: the rotation's token), so a
 * crash after any step is finished by running the steps again with the same token, and two
 * rotations of one registry never interleave.
 */
export class RotationService {
  readonly #deps: RotationDependencies;

  constructor(deps: RotationDependencies) {
    this.#deps = deps;
  }

  /**
   * What Secrets Manager does around a rotation Lambda, for the embedded runtime: resume an
   * unfinished rotation or start one, then the four steps in order. `runStep` lets the caller
   * send each step through the rotation function's own handler, as Secrets Manager would.
   */
  async rotate(registry: RotatedRegistry, runStep: (step: RotationStep, token: string) => Promise<void> = (step, token) => this.step(step, registry, token)): Promise<RotationResult> {
    const pending = await this.unfinishedToken(registry);
    const token = pending ?? this.#deps.newToken();
    for (const step of ROTATION_STEPS) {
      await runStep(step, token);
      await this.#deps.afterStep?.(step, token);
    }
    return { registryId: registry.id, versionId: token, resumed: pending !== undefined };
  }

  /** `rotationToken`: the invocation's RotationToken, passed back to Secrets Manager when writing. */
  async step(step: RotationStep, registry: RotatedRegistry, token: string, options: { readonly rotationToken?: string } = {}): Promise<void> {
    await lockRegistry(this.#deps.ledger, this.#deps.clock, registry.id, token, `rotation step ${step}`);
    switch (step) {
      case "createSecret":
        try {
          return await this.#create(registry, token, options.rotationToken);
        } catch (error) {
          // Nothing was staged: another rotation may go ahead (a staged one resumes with its own token).
          if (!(await this.#version(registry, token))) await this.#deps.ledger.releaseLock(registry.id, token);
          throw error;
        }
      case "setSecret":
        return this.#set(registry, token);
      case "testSecret":
        return this.#test(registry, token);
      case "finishSecret":
        await this.#finish(registry, token);
        await this.#deps.ledger.releaseLock(registry.id, token);
        return;
    }
  }

  async #create(registry: RotatedRegistry, token: string, rotationToken?: string): Promise<void> {
    const { vault } = this.#deps;
    if (await this.#version(registry, token)) return;
    const issuer = await this.#deps.issuer(registry);
    const current = await readIfPresent(vault, registry.secret, { stage: "AWSCURRENT" });
    let idle: string | undefined;
    if (issuer.slots) {
      const [first, second] = issuer.slots;
      idle = current && (await slotOf(issuer, current)) === first ? second : first;
      if (current) await this.#freeSlot(registry, issuer, idle, current);
    } else if (current) {
      await this.#retirePrevious(registry, current);
    }
    const next = await issuer.issue({ ...(idle !== undefined && { slot: idle }), versionId: token });
    await vault.stagePending(registry.secret, next, token, rotationToken === undefined ? undefined : { rotationToken });
  }

  /**
   * The idle slot's last credential (AWSPREVIOUS, normally) may still be in use: overwriting it
   * would break whoever holds it. Wait for its revocation, or revoke it first.
   */
  async #freeSlot(registry: RotatedRegistry, issuer: CredentialIssuer, idle: string, current: StoredCredential): Promise<void> {
    const previous = await readIfPresent(this.#deps.vault, registry.secret, { stage: "AWSPREVIOUS" });
    if (!previous || (await slotOf(issuer, previous)) !== idle) return;
    await this.#previousRevoked(registry, previous, current, "a rotation needed the user's slot (revoke.whenInUse: revoke)", (reason) => new SlotInUseError(registry.id, idle, previous.versionId, reason));
  }

  /**
   * Independent tokens have no slot to wait for, but the same rule holds: one unrevoked previous
   * credential at most. Revocation only ever revokes AWSPREVIOUS, so a rotation that moved the
   * label off an unrevoked one would leave that token valid, unseen, until it expires. Wait for
   * its revocation, or revoke it first; a source with nothing to revoke (tokens that only expire) goes on.
   */
  async #retirePrevious(registry: RotatedRegistry, current: StoredCredential): Promise<void> {
    const previous = await readIfPresent(this.#deps.vault, registry.secret, { stage: "AWSPREVIOUS" });
    if (!previous || previous.versionId === current.versionId) return;
    if (!(await this.#deps.revokes?.(registry))) return;
    await this.#previousRevoked(
      registry,
      previous,
      current,
      "a rotation replaces the current credential and the previous one is not revoked yet (revoke.whenInUse: revoke)",
      (reason) => new PreviousNotRevokedError(registry.id, previous.versionId, reason),
    );
  }

  /**
   * The one rule both kinds of source keep: `previous` must be revoked before a rotation goes on.
   * Revoked already: nothing to do; whenInUse: revoke: revoke it now; else throw `waiting(reason)`,
   * the reason the last revocation check gave for keeping it.
   */
  async #previousRevoked(registry: RotatedRegistry, previous: StoredCredential, current: StoredCredential, revokeDetail: string, waiting: (reason: string) => PullkeeperError): Promise<void> {
    const { ledger } = this.#deps;
    const recorded = await ledger.version(registry.id, previous.versionId);
    if (recorded?.revoked) return;
    if (revokePolicy(registry).whenInUse === "revoke" && this.#deps.revocation) {
      await this.#deps.revocation.revoke(registry, previous, current, "rotation", revokeDetail, recorded);
      return;
    }
    const status = await ledger.revocationStatus(registry.id);
    throw waiting(status?.versionId === previous.versionId ? status.reason : "no revocation check has run yet");
  }

  async #set(registry: RotatedRegistry, token: string): Promise<void> {
    const pending = await this.#required(registry, token);
    await (await this.#deps.issuer(registry)).install?.(pending.credential);
  }

  async #test(registry: RotatedRegistry, token: string): Promise<void> {
    const pending = await this.#required(registry, token);
    const verification = await this.#deps.verifier.verify(verifyRequest(registry, pending.credential));
    if (verification.status !== "ok") {
      await this.#deps.ledger.appendHistory({
        type: "verification-failed",
        registryId: registry.id,
        at: this.#deps.clock.now(),
        secretArn: pending.arn,
        versionId: token,
        status: verification.status,
        detail: verification.detail,
      });
      throw new PullkeeperError(`verification_${verification.status}`, `the new password of ${pending.credential.username} did not verify against ${registry.host}: ${verification.detail}; not promoted`);
    }
  }

  async #finish(registry: RotatedRegistry, token: string): Promise<void> {
    const { vault, ledger, bus, clock, fingerprints } = this.#deps;
    const pending = await this.#required(registry, token);
    // Always: it also clears AWSPENDING, which a secret's first version carries beside AWSCURRENT.
    await vault.promote(registry.secret, token);
    await this.#deps.afterPromote?.(token);
    // The previous user stays: it is revoked once nothing uses it (RevocationService). A crash
    // from here on leaves the ledger behind the vault; LedgerRepair closes that gap.
    const now = clock.now();
    const version: CredentialVersion = {
      registryId: registry.id,
      secretArn: pending.arn,
      versionId: token,
      fingerprint: fingerprints.fingerprint(pending.credential),
      createdAt: now,
      promotedAt: now,
      // The provider counts the lifetime from when it made the credential, just before the vault stored it.
      ...(registry.source.lifetime !== undefined && { expiresAt: new Date(pending.createdAt.getTime() + registry.source.lifetime * 1000) }),
      verification: { status: "ok", detail: `verified by testSecret as ${pending.credential.username}`, checkedAt: now },
    };
    // Announced before it is recorded: once the ledger knows the version, nothing (not even
    // LedgerRepair) would announce it again, so a crash between the two would lose the event for
    // good. This way round a crash there makes repair announce it a second time, which is harmless.
    await announceRotated(ledger, bus, { registryId: registry.id, at: now, secretArn: pending.arn, versionId: token });
    await ledger.recordCurrentVersion(
      { registryId: registry.id, host: registry.host, kind: registry.kind, sourceType: registry.source.type, secretArn: pending.arn },
      version,
    );
  }

  /**
   * The version an interrupted rotation left labelled AWSPENDING, if any. finishSecret clears the
   * label, so a version holding it is unfinished even when it is also AWSCURRENT (Secrets Manager
   * makes a secret's first version current as it is written).
   */
  async unfinishedToken(registry: RotatedRegistry): Promise<string | undefined> {
    return (await readIfPresent(this.#deps.vault, registry.secret, { stage: "AWSPENDING" }))?.versionId;
  }

  #version(registry: RotatedRegistry, token: string): Promise<StoredCredential | undefined> {
    return readIfPresent(this.#deps.vault, registry.secret, { versionId: token });
  }

  async #required(registry: RotatedRegistry, token: string): Promise<StoredCredential> {
    const version = await this.#version(registry, token);
    if (!version) throw new NotFoundError(`secret ${registry.secret} version ${token} (run createSecret first)`);
    return version;
  }
}

async function slotOf(issuer: CredentialIssuer, stored: StoredCredential): Promise<string | undefined> {
  return issuer.slotOf ? await issuer.slotOf(stored) : stored.credential.username;
}
