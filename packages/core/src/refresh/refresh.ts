import pLimit from "p-limit";
import { PullkeeperError } from "../model/errors.js";
import type { CredentialRotated } from "../model/events.js";
import type { CredentialVersion, MintedToken, Registry, RegistrySource } from "../model/model.js";
import type { MintPorts, TokenMinter } from "../model/source-module.js";
import type { ProviderHttp } from "../model/provider-api.js";
import { sourceCapabilities, sourceRuntime } from "../source-modules.js";
import type { CredentialPorts, RegistryLedger, RegistryRecord, RegistryState, TokenSource, VersionToWrite } from "../model/ports.js";
import { verifyRequest } from "../rotation/verify-request.js";
import { readIfPresent } from "./vault-reads.js";
import { decideRefresh, DEFAULT_REFRESH_POLICY, type RefreshDecision, type RefreshPolicy } from "./refresh-decision.js";

export type RefreshStep = "ledger" | "mint" | "verify" | "write" | "promote" | "record";

/**
 * Why a registry got a new current token: the decision that made it due, or "unrecorded-write": an
 * earlier run wrote a verified token to the vault and stopped before recording it, and this run took it up.
 */
export type RefreshReason = RefreshDecision["reason"] | "unrecorded-write";

type Refreshed = { readonly registryId: string; readonly outcome: "refreshed"; readonly secretArn: string; readonly versionId: string; readonly expiresAt: Date; readonly reason: RefreshReason };

export type RegistryRefreshResult =
  | Refreshed
  | { readonly registryId: string; readonly outcome: "fresh"; readonly dueAt: Date; readonly expiresAt?: Date }
  | { readonly registryId: string; readonly outcome: "unchanged"; readonly versionId: string }
  | { readonly registryId: string; readonly outcome: "failed"; readonly step: RefreshStep; readonly code: string; readonly message: string };

export interface RefreshReport {
  readonly startedAt: Date;
  readonly results: readonly RegistryRefreshResult[];
  /** The soonest expiry among the refreshed and still-fresh tokens: what on-call watches. */
  readonly earliestExpiry?: Date;
  /** Set when the run's `Credential Rotated` events could not all be published. */
  readonly eventError?: string;
}

export interface RefreshRequest {
  /** Only these registries (default: every registry whose credential pullkeeper mints). */
  readonly registryIds?: readonly string[];
  /** Refresh even if the current token is still fresh. */
  readonly force?: boolean;
}

export interface RefreshDependencies extends CredentialPorts<RegistryLedger> {
  /** The port minting sources' runtimes mint through (`MintPorts`). */
  readonly tokens: TokenSource;
  /** `MintPorts.http`, for sources that mint through a provider's API (unset: such a mint fails as not wired). */
  readonly http?: ProviderHttp;
  /** `MintPorts.awsCallerIdentity`, for sources that prove the function's AWS identity elsewhere (unset: such a mint fails as not wired). */
  readonly awsCallerIdentity?: MintPorts["awsCallerIdentity"];
  readonly policy?: Omit<RefreshPolicy, "marginSeconds">;
  /** Registries processed at once; keeps Secrets Manager's shared ~50 writes/s quota out of reach. */
  readonly concurrency?: number;
}

/** A fresh token must outlive at least this: one delivery round and the next refresh check. */
export const MIN_TOKEN_LIFETIME_MS = 5 * 60_000;

/** A registry whose token the refresh function mints: whatever its source, it may set its own margin. */
type MintedRegistry = Registry & { readonly source: RegistrySource & { readonly marginSeconds?: number } };

/** A step failed for a reason worth one line in the report. Never carries a credential. */
class StepFailure extends Error {
  constructor(
    readonly step: RefreshStep,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notWired = (port: string) => new StepFailure("mint", "not_wired", `this runtime gives minting sources no ${port}`);
const NOT_WIRED_HTTP: ProviderHttp = { request: () => Promise.reject(notWired("provider API")) };
const notWiredIdentity = (): Promise<string> => Promise.reject(notWired("AWS caller identity"));

function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof StepFailure) return { code: error.code, message: error.message };
  if (error instanceof PullkeeperError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: error.name || "error", message: error.message };
  return { code: "error", message: String(error) };
}

async function step<T>(name: RefreshStep, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StepFailure) throw error;
    const { code, message } = describeError(error);
    throw new StepFailure(name, code, message);
  }
}

/**
 * The refresh flow: decide who is due, mint once per (account, region, role), verify against
 * the registry, stage as AWSPENDING, promote, record, announce. A registry that fails
 * at any step is reported and does not stop the others; an unverified token is never promoted.
 */
export class RefreshService {
  readonly #deps: RefreshDependencies;
  readonly #policy: Omit<RefreshPolicy, "marginSeconds">;

  constructor(deps: RefreshDependencies) {
    this.#deps = deps;
    this.#policy = deps.policy ?? DEFAULT_REFRESH_POLICY;
  }

  async run(registries: readonly Registry[], request: RefreshRequest = {}): Promise<RefreshReport> {
    const startedAt = this.#deps.clock.now();
    const wanted = request.registryIds === undefined ? undefined : new Set(request.registryIds);
    const minted = registries.filter(
      (r): r is MintedRegistry => sourceCapabilities(r).mints && (wanted === undefined || wanted.has(r.id)),
    );

    const results: RegistryRefreshResult[] = [];
    const expiries: Date[] = [];
    const events: CredentialRotated[] = [];
    const due: { registry: MintedRegistry; reason: RefreshDecision["reason"] }[] = [];
    const accept = (result: RegistryRefreshResult) => {
      results.push(result);
      if (result.outcome !== "refreshed") return;
      expiries.push(result.expiresAt);
      events.push({
        type: "Credential Rotated",
        detail: { registryId: result.registryId, secretArn: result.secretArn, versionId: result.versionId, expiresAt: result.expiresAt.toISOString() },
      });
    };

    for (const registry of minted) {
      try {
        const state = await step("ledger", () => this.#deps.ledger.registryState(registry.id));
        const decision = decideRefresh({ registryId: registry.id, now: startedAt, current: state?.current, policy: this.#policyOf(registry), ...(request.force !== undefined && { force: request.force }) });
        if (decision.due) {
          const takenUp = await step("ledger", () => this.#takeUpUnrecordedWrite(registry, state, startedAt));
          if (takenUp) accept(takenUp);
          else due.push({ registry, reason: decision.reason });
        } else {
          const expiresAt = state?.current?.expiresAt;
          if (expiresAt) expiries.push(expiresAt);
          results.push({ registryId: registry.id, outcome: "fresh", dueAt: decision.dueAt, ...(expiresAt && { expiresAt }) });
        }
      } catch (error) {
        results.push(await this.#failed(registry.id, error));
      }
    }

    // One mint per scope, shared by every registry in it: ECR allows 20 GetAuthorizationToken/s.
    const byScope = new Map<string, { minter: TokenMinter; members: typeof due }>();
    for (const entry of due) {
      try {
        const minter = await step("mint", () => this.#minter(entry.registry));
        const key = `${entry.registry.source.type}|${minter.scope}`;
        const group = byScope.get(key) ?? { minter, members: [] };
        group.members.push(entry);
        byScope.set(key, group);
      } catch (error) {
        results.push(await this.#failed(entry.registry.id, error));
      }
    }

    const limit = pLimit(this.#deps.concurrency ?? 4);
    await Promise.all(
      [...byScope.values()].map(async ({ minter, members }) => {
        let token: MintedToken;
        try {
          token = await step("mint", () => minter.mint());
        } catch (error) {
          for (const { registry } of members) results.push(await this.#failed(registry.id, error));
          return;
        }
        await Promise.all(
          members.map(({ registry, reason }) =>
            limit(async () => {
              try {
                accept(await this.#refreshOne(registry, token, reason));
              } catch (error) {
                results.push(await this.#failed(registry.id, error));
              }
            }),
          ),
        );
      }),
    );

    let eventError: string | undefined;
    if (events.length > 0) {
      try {
        await this.#deps.bus.publish(events);
      } catch (error) {
        eventError = describeError(error).message;
      }
    }

    const order = new Map(minted.map((r, i) => [r.id, i]));
    results.sort((a, b) => (order.get(a.registryId) ?? 0) - (order.get(b.registryId) ?? 0));
    const earliestExpiry = expiries.reduce<Date | undefined>((min, d) => (min === undefined || d < min ? d : min), undefined);
    return { startedAt, results, ...(earliestExpiry && { earliestExpiry }), ...(eventError !== undefined && { eventError }) };
  }

  #policyOf(registry: MintedRegistry): RefreshPolicy {
    return { ...this.#policy, ...(registry.source.marginSeconds !== undefined && { marginSeconds: registry.source.marginSeconds }) };
  }

  /**
   * A run that stopped between writing its verified token to the vault and recording it left the
   * vault serving a version the ledger does not know, and the vault cannot say when it expires.
   * Its write intent can: when the vault's AWSCURRENT is that version (same value) and it is still
   * fresh, it is recorded and announced as the run would have, and nothing is minted. Otherwise
   * (never written, replaced since, or due itself) the registry is refreshed as usual.
   */
  async #takeUpUnrecordedWrite(registry: MintedRegistry, state: RegistryState | undefined, now: Date): Promise<Refreshed | undefined> {
    const { ledger, vault, fingerprints } = this.#deps;
    const intent = await ledger.writeIntent(registry.id);
    if (intent === undefined || intent.versionId === state?.current?.versionId) return undefined;
    const current = await readIfPresent(vault, registry.secret, { stage: "AWSCURRENT" });
    if (current?.versionId !== intent.versionId || fingerprints.fingerprint(current.credential) !== intent.fingerprint) return undefined;
    const { expiresAt } = intent;
    if (expiresAt === undefined || decideRefresh({ registryId: registry.id, now, current: intent, policy: this.#policyOf(registry) }).due) return undefined;
    return this.#record(registry, { ...intent, expiresAt, secretArn: current.arn }, "unrecorded-write");
  }

  /** The registry's source module's minter (its runtime, loaded on first use) over the `tokens` port. */
  async #minter(registry: MintedRegistry): Promise<TokenMinter> {
    const { tokens, http = NOT_WIRED_HTTP, awsCallerIdentity = notWiredIdentity, clock } = this.#deps;
    const minter = (await sourceRuntime(registry))?.minter?.(registry, { tokens, http, awsCallerIdentity, clock });
    if (minter === undefined) throw new StepFailure("mint", "no_minter", `registry ${registry.id}: a ${registry.source.type} source mints nothing`);
    return minter;
  }

  async #refreshOne(registry: MintedRegistry, token: MintedToken, reason: RefreshReason): Promise<RegistryRefreshResult> {
    const { vault, verifier, ledger, fingerprints, clock } = this.#deps;
    // A token that is dead (or nearly) on arrival — a skewed clock, a broken source — would be
    // promoted, announced, found due again and re-announced on every run: refuse it instead.
    const remainingMs = token.expiresAt.getTime() - clock.now().getTime();
    if (remainingMs < MIN_TOKEN_LIFETIME_MS) {
      throw new StepFailure("mint", "token_expired", `the token minted for ${registry.host} expires at ${token.expiresAt.toISOString()}, ${Math.round(remainingMs / 1000)} s from now (less than ${MIN_TOKEN_LIFETIME_MS / 1000} s); not written, not promoted`);
    }
    // Verified before it is written anywhere: Secrets Manager makes the first version of an empty
    // secret AWSCURRENT as it is written, so staging first could expose an unverified token.
    const verification = await step("verify", () => verifier.verify(verifyRequest(registry, token.credential)));
    if (verification.status !== "ok") {
      await ledger.appendHistory({ type: "verification-failed", registryId: registry.id, at: clock.now(), status: verification.status, detail: verification.detail });
      throw new StepFailure("verify", `verification_${verification.status}`, `the new token did not verify against ${registry.host}: ${verification.detail}; not written, not promoted`);
    }

    // Verified already, so it is written as current at once: one PutSecretValue, not a staged
    // version and two label moves (AWSCURRENT, then AWSPENDING off it). The intent first: the
    // version's expiry, which the next run needs if this one stops before recording the write.
    const requestToken = fingerprints.requestToken(registry.secret, token.credential);
    const intent: VersionToWrite & { readonly expiresAt: Date } = {
      registryId: registry.id,
      versionId: requestToken,
      fingerprint: fingerprints.fingerprint(token.credential),
      createdAt: token.issuedAt,
      expiresAt: token.expiresAt,
      verification,
    };
    await step("ledger", () => ledger.recordWriteIntent(intent));
    const staged = await step("write", () => vault.putCurrent(registry.secret, token.credential, requestToken));
    if (staged.outcome === "unchanged") {
      return { registryId: registry.id, outcome: "unchanged", versionId: staged.versionId };
    }
    // Written by an earlier run that stopped before recording it (or staged AWSPENDING by an earlier release): make it current.
    if (staged.outcome === "existing") await step("promote", () => vault.promote(registry.secret, staged.versionId));

    return this.#record(registry, { ...intent, secretArn: staged.arn, versionId: staged.versionId }, reason);
  }

  /** Records a verified token the vault now serves as current, with its history entry; the run announces it. */
  async #record(registry: MintedRegistry, version: CredentialVersion & { readonly expiresAt: Date }, reason: RefreshReason): Promise<Refreshed> {
    const { ledger, clock } = this.#deps;
    const record: RegistryRecord = { registryId: registry.id, host: registry.host, kind: registry.kind, sourceType: registry.source.type, secretArn: version.secretArn };
    await step("record", async () => {
      await ledger.recordCurrentVersion(record, version);
      await ledger.appendHistory({ type: "rotated", registryId: registry.id, at: clock.now(), secretArn: version.secretArn, versionId: version.versionId, expiresAt: version.expiresAt });
    });
    return { registryId: registry.id, outcome: "refreshed", secretArn: version.secretArn, versionId: version.versionId, expiresAt: version.expiresAt, reason };
  }

  async #failed(registryId: string, error: unknown): Promise<RegistryRefreshResult> {
    const stepName = error instanceof StepFailure ? error.step : "ledger";
    const { code, message } = describeError(error);
    // A failed verification was already recorded with its detail by #refreshOne.
    if (stepName === "verify") return { registryId, outcome: "failed", step: stepName, code, message };
    try {
      await this.#deps.ledger.appendHistory({ type: "refresh-failed", registryId, at: this.#deps.clock.now(), code, message });
    } catch {
      // The report still carries the failure; a ledger that is down must not hide the first error.
    }
    return { registryId, outcome: "failed", step: stepName, code, message };
  }
}
