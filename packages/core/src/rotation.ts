import { credential } from "./credential.js";
import { NotFoundError, PullkeeperError } from "./errors.js";
import type { CredentialVersion, HtpasswdSource, Registry } from "./model.js";
import type { Clock, EventBus, Fingerprinter, RegistryLedger, PasswordGenerator, RegistryAccounts, RegistryVerifier, StoredCredential, Vault } from "./ports.js";

/** Secrets Manager's rotation-Lambda protocol, step names as it sends them. */
export const ROTATION_STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export type RotatedRegistry = Registry & { readonly source: HtpasswdSource };

export function isRotated(registry: Registry): registry is RotatedRegistry {
  return registry.source.type === "htpasswd";
}

export interface RotationDependencies {
  readonly vault: Vault;
  readonly verifier: RegistryVerifier;
  readonly ledger: RegistryLedger;
  readonly bus: EventBus;
  readonly fingerprints: Fingerprinter;
  readonly clock: Clock;
  readonly passwords: PasswordGenerator;
  readonly accounts: (registry: RotatedRegistry) => RegistryAccounts;
  /** A fresh ClientRequestToken for a rotation that is not resuming (Secrets Manager makes a UUID). */
  readonly newToken: () => string;
  /** Test seam: called after each step completes, so a test can stop the process between steps. */
  readonly afterStep?: (step: RotationStep, token: string) => Promise<void> | void;
}

export interface RotationResult {
  readonly registryId: string;
  readonly versionId: string;
  /** True when an unfinished rotation (AWSPENDING left by a crash) was completed instead of starting anew. */
  readonly resumed: boolean;
}

/**
 * Zero-downtime rotation of a self-hosted registry's password by alternating two users: the
 * idle user gets a new password (create, set), it is proven to work (test), it becomes current,
 * and only then is the previous user retired (finish). Each step is idempotent, so a crash after
 * any step is finished by running the steps again with the same token.
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
    switch (step) {
      case "createSecret":
        return this.#create(registry, token, options.rotationToken);
      case "setSecret":
        return this.#set(registry, token);
      case "testSecret":
        return this.#test(registry, token);
      case "finishSecret":
        return this.#finish(registry, token);
    }
  }

  async #create(registry: RotatedRegistry, token: string, rotationToken?: string): Promise<void> {
    const { vault, passwords } = this.#deps;
    if (await this.#version(registry, token)) return;
    const current = await this.#current(registry);
    const [first, second] = registry.source.users;
    const idle = current?.credential.username === first ? second : first;
    await vault.stagePending(registry.secret, credential(idle, passwords.generate().reveal()), token, rotationToken === undefined ? undefined : { rotationToken });
  }

  async #set(registry: RotatedRegistry, token: string): Promise<void> {
    const pending = await this.#required(registry, token);
    await this.#deps.accounts(registry).setPassword(pending.credential.username, pending.credential.password);
  }

  async #test(registry: RotatedRegistry, token: string): Promise<void> {
    const pending = await this.#required(registry, token);
    const verification = await this.#deps.verifier.verify({
      host: registry.host,
      credential: pending.credential,
      ...(registry.verify.endpoint !== undefined && { endpoint: registry.verify.endpoint }),
      ...(registry.verify.canary && { canary: registry.verify.canary }),
    });
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
    // Retire whichever user is not the new one: also right when a crash came between promote and retire.
    const [first, second] = registry.source.users;
    await this.#deps.accounts(registry).retire(pending.credential.username === first ? second : first);

    const now = clock.now();
    const version: CredentialVersion = {
      registryId: registry.id,
      secretArn: pending.arn,
      versionId: token,
      fingerprint: fingerprints.fingerprint(pending.credential),
      createdAt: now,
      verification: { status: "ok", detail: `verified by testSecret as ${pending.credential.username}`, checkedAt: now },
    };
    const recorded = await ledger.recordCurrentVersion(
      { registryId: registry.id, host: registry.host, kind: registry.kind, sourceType: registry.source.type, secretArn: pending.arn },
      version,
    );
    if (recorded === "recorded") {
      await ledger.appendHistory({ type: "rotated", registryId: registry.id, at: now, secretArn: pending.arn, versionId: token });
      await bus.publish([{ type: "Credential Rotated", detail: { registryId: registry.id, secretArn: pending.arn, versionId: token } }]);
    }
  }

  /**
   * The version an interrupted rotation left labelled AWSPENDING, if any. finishSecret clears the
   * label, so a version holding it is unfinished even when it is also AWSCURRENT (Secrets Manager
   * makes a secret's first version current as it is written).
   */
  async unfinishedToken(registry: RotatedRegistry): Promise<string | undefined> {
    try {
      return (await this.#deps.vault.read(registry.secret, { stage: "AWSPENDING" })).versionId;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async #current(registry: RotatedRegistry): Promise<StoredCredential | undefined> {
    try {
      return await this.#deps.vault.read(registry.secret, { stage: "AWSCURRENT" });
    } catch (error) {
      // A secret with no value yet: the first rotation bootstraps it.
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async #version(registry: RotatedRegistry, token: string): Promise<StoredCredential | undefined> {
    try {
      return await this.#deps.vault.read(registry.secret, { versionId: token });
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async #required(registry: RotatedRegistry, token: string): Promise<StoredCredential> {
    const version = await this.#version(registry, token);
    if (!version) throw new NotFoundError(`secret ${registry.secret} version ${token} (run createSecret first)`);
    return version;
  }
}
