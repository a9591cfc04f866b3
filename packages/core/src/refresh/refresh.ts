import pLimit from "p-limit";
import { PullkeeperError } from "../model/errors.js";
import type { CredentialRotated } from "../model/events.js";
import type { CredentialVersion, MintedToken, Registry, RegistrySource } from "../model/model.js";
import type { MintPorts, TokenMinter } from "../model/source-module.js";
import type { ProviderHttp } from "../model/provider-api.js";
import { sourceCapabilities, sourceRuntime } from "../source-modules.js";
import type { CredentialPorts, RegistryLedger, RegistryRecord, TokenSource } from "../model/ports.js";
import { verifyRequest } from "../rotation/verify-request.js";
import { decideRefresh, DEFAULT_REFRESH_POLICY, type RefreshDecision, type RefreshPolicy } from "./refresh-decision.js";

export type RefreshStep = "ledger" | "mint" | "verify" | "write" | "promote" | "record";

export type RegistryRefreshResult =
  | { readonly registryId: string; readonly outcome: "refreshed"; readonly secretArn: string; readonly versionId: string; readonly expiresAt: Date; readonly reason: RefreshDecision["reason"] }
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
    const due: { registry: MintedRegistry; reason: RefreshDecision["reason"] }[] = [];

    for (const registry of minted) {
      try {
        const state = await step("ledger", () => this.#deps.ledger.registryState(registry.id));
        const decision = decideRefresh({
          registryId: registry.id,
          now: startedAt,
          current: state?.current,
          policy: { ...this.#policy, ...(registry.source.marginSeconds !== undefined && { marginSeconds: registry.source.marginSeconds }) },
          ...(request.force !== undefined && { force: request.force }),
        });
        if (decision.due) {
          due.push({ registry, reason: decision.reason });
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
    const events: CredentialRotated[] = [];
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
                const result = await this.#refreshOne(registry, token, reason);
                results.push(result);
                if (result.outcome === "refreshed") {
                  expiries.push(result.expiresAt);
                  events.push({
                    type: "Credential Rotated",
                    detail: { registryId: registry.id, secretArn: result.secretArn, versionId: result.versionId, expiresAt: result.expiresAt.toISOString() },
                  });
                }
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

  /** The registry's source module's minter (its runtime, loaded on first use) over the `tokens` port. */
  async #minter(registry: MintedRegistry): Promise<TokenMinter> {
    const { tokens, http = NOT_WIRED_HTTP, awsCallerIdentity = notWiredIdentity, clock } = this.#deps;
    const minter = (await sourceRuntime(registry))?.minter?.(registry, { tokens, http, awsCallerIdentity, clock });
    if (minter === undefined) throw new StepFailure("mint", "no_minter", `registry ${registry.id}: a ${registry.source.type} source mints nothing`);
    return minter;
  }

  async #refreshOne(registry: MintedRegistry, token: MintedToken, reason: RefreshDecision["reason"]): Promise<RegistryRefreshResult> {
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
    // version and two label moves (AWSCURRENT, then AWSPENDING off it).
    const requestToken = fingerprints.requestToken(registry.secret, token.credential);
    const staged = await step("write", () => vault.putCurrent(registry.secret, token.credential, requestToken));
    if (staged.outcome === "unchanged") {
      return { registryId: registry.id, outcome: "unchanged", versionId: staged.versionId };
    }
    // Written by an earlier run that stopped before recording it (or staged AWSPENDING by an earlier release): make it current.
    if (staged.outcome === "existing") await step("promote", () => vault.promote(registry.secret, staged.versionId));

    const version: CredentialVersion = {
      registryId: registry.id,
      secretArn: staged.arn,
      versionId: staged.versionId,
      fingerprint: fingerprints.fingerprint(token.credential),
      createdAt: token.issuedAt,
      expiresAt: token.expiresAt,
      verification,
    };
    const record: RegistryRecord = { registryId: registry.id, host: registry.host, kind: registry.kind, sourceType: registry.source.type, secretArn: staged.arn };
    await step("record", async () => {
      await ledger.recordCurrentVersion(record, version);
      await ledger.appendHistory({ type: "rotated", registryId: registry.id, at: clock.now(), secretArn: staged.arn, versionId: staged.versionId, expiresAt: token.expiresAt });
    });
    return { registryId: registry.id, outcome: "refreshed", secretArn: staged.arn, versionId: staged.versionId, expiresAt: token.expiresAt, reason };
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
