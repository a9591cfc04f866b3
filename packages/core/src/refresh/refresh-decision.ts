import type { CredentialVersion } from "../model/model.js";

export interface RefreshPolicy {
  /** Refresh this long before expiry. Default: half of the token's lifetime. */
  readonly marginSeconds?: number;
  /** Upper bound of the per-registry spread, so a fleet does not refresh in the same second. */
  readonly maxJitterSeconds: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicy = { maxJitterSeconds: 300 };

export type RefreshDecision =
  | { readonly due: true; readonly reason: "forced" | "no-current-version" | "no-expiry-known" | "within-margin"; readonly dueAt?: Date }
  | { readonly due: false; readonly reason: "fresh"; readonly dueAt: Date };

/**
 * FNV-1a: a stable spread per registry. Deterministic on purpose — the same registry gets the
 * same offset on every run, so a schedule tick never flips a decision back and forth.
 */
function stableFraction(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 0x100000000;
}

/** When a version should be replaced: expiresAt − margin − jitter (jitter only ever moves it earlier). */
export function refreshDueAt(registryId: string, version: Pick<CredentialVersion, "createdAt" | "expiresAt">, policy: RefreshPolicy): Date | undefined {
  if (version.expiresAt === undefined) return undefined;
  const expires = version.expiresAt.getTime();
  const lifetimeMs = Math.max(0, expires - version.createdAt.getTime());
  const marginMs = policy.marginSeconds !== undefined ? policy.marginSeconds * 1000 : lifetimeMs / 2;
  // Jitter stays a small share of the margin, so a short margin is not swallowed by it.
  const jitterMs = Math.min(policy.maxJitterSeconds * 1000, marginMs / 10) * stableFraction(registryId);
  return new Date(Math.floor(expires - marginMs - jitterMs));
}

/** Refresh when now ≥ expiresAt − margin (− jitter). */
export function decideRefresh(input: {
  readonly registryId: string;
  readonly now: Date;
  readonly current: Pick<CredentialVersion, "createdAt" | "expiresAt"> | undefined;
  readonly policy: RefreshPolicy;
  readonly force?: boolean;
}): RefreshDecision {
  if (input.force === true) return { due: true, reason: "forced" };
  if (input.current === undefined) return { due: true, reason: "no-current-version" };
  const dueAt = refreshDueAt(input.registryId, input.current, input.policy);
  if (dueAt === undefined) return { due: true, reason: "no-expiry-known" };
  return input.now.getTime() >= dueAt.getTime() ? { due: true, reason: "within-margin", dueAt } : { due: false, reason: "fresh", dueAt };
}
