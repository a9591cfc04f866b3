import { PullkeeperError } from "../model/errors.js";
import type { LifecycleLedger } from "./lifecycle-ledger.js";
import type { Clock } from "../model/ports.js";

/** How long a holder keeps the lock without renewing it: longer than any one step, short enough that a crashed holder does not block for long. */
export const LOCK_LEASE_MS = 15 * 60_000;

/** Someone else is rotating, rolling back or revoking this registry right now. */
export class RegistryBusyError extends PullkeeperError {
  constructor(registryId: string, what: string) {
    super("rotation_in_progress", `registry ${registryId}: another rotation, rollback or revocation is in progress; ${what} not started (try again shortly)`);
  }
}

/** Takes (or renews) the registry's lock for `owner`, or throws RegistryBusyError. */
export async function lockRegistry(ledger: LifecycleLedger, clock: Clock, registryId: string, owner: string, what: string, leaseMs = LOCK_LEASE_MS): Promise<void> {
  const now = clock.now();
  if (!(await ledger.acquireLock(registryId, owner, new Date(now.getTime() + leaseMs), now))) throw new RegistryBusyError(registryId, what);
}

/** Runs `work` holding the registry's lock, and releases it afterwards whatever happened. */
export async function withRegistryLock<T>(ledger: LifecycleLedger, clock: Clock, registryId: string, owner: string, what: string, work: () => Promise<T>, leaseMs = LOCK_LEASE_MS): Promise<T> {
  await lockRegistry(ledger, clock, registryId, owner, what, leaseMs);
  try {
    return await work();
  } finally {
    await ledger.releaseLock(registryId, owner).catch(() => undefined);
  }
}
/** A lock owner name that says who holds it (for on-call reading the ledger) and is unique per holder. */
export function registryLockOwner(what: string): string {
  return `${what}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Runs `work` again while another holder has the registry's lock, for up to attempts × delayMs:
 * a revocation check or a rollback holds it for a moment, and a rotation step should wait for
 * that rather than fail. A rotation in progress holds it for longer; then the error stands.
 */
export async function whenUnlocked<T>(work: () => Promise<T>, options: { readonly attempts?: number; readonly delayMs?: number } = {}): Promise<T> {
  const attempts = options.attempts ?? 40;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof RegistryBusyError) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 250));
    }
  }
}
