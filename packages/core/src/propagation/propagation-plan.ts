import type { Consumer, ConsumerDelivery, DeliveryRequest } from "./delivery.js";

export interface CurrentVersion {
  readonly registryId: string;
  readonly secretArn: string;
  readonly versionId: string;
  readonly createdAt: Date;
}

/** How long reconcile leaves a consumer that failed for good before it plans it again. */
export interface RedrivePolicy {
  /** After the first final failure (default 1 h); doubles with each further one. */
  readonly firstMs: number;
  /** The longest wait (default 24 h). */
  readonly maxMs: number;
}

export const DEFAULT_REDRIVE: RedrivePolicy = { firstMs: 60 * 60_000, maxMs: 24 * 60 * 60_000 };

/**
 * When reconcile plans a consumer that failed for good again: 1 h after the failure, then 2 h,
 * 4 h … capped at 24 h (the count of final failures of this version doubles it), so a cause
 * someone fixed heals without a human, and one nobody fixed costs one attempt a day.
 */
export function failedRedriveAt(state: Pick<ConsumerDelivery, "failures" | "lastError" | "updatedAt">, policy: RedrivePolicy = DEFAULT_REDRIVE): Date {
  const failures = Math.max(1, state.failures ?? 1);
  const wait = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(failures - 1, 30));
  return new Date((state.lastError?.at ?? state.updatedAt).getTime() + wait);
}

/** Retries of a delivery that failed for a cause a retry can mend. */
export interface RetryPolicy {
  /** The first retry comes after base/2 to base; each further one doubles the ceiling (default 2 s). */
  readonly baseMs: number;
  /** The ceiling's cap (default 15 minutes, SQS's longest message delay). */
  readonly maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 2_000, maxMs: 15 * 60_000 };

/**
 * The wait before the next attempt after `failedAttempts` failed ones: capped exponential backoff
 * with "equal jitter" — between half the ceiling and the ceiling, so a retry never comes at once
 * and many consumers failing together spread out.
 */
export function retryDelayMs(failedAttempts: number, policy: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, failedAttempts - 1), 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface PlanOptions {
  readonly now: Date;
  /**
   * A pending delivery older than this, or a retrying one this long past its next attempt, lost
   * its message (queues are best effort too): plan it again.
   */
  readonly stalePendingMs: number;
  /** The queue's DeliveryQueue.holdsSince: a pending or retrying record older than it lost its message. */
  readonly queueHoldsSince?: Date;
  /** Re-drive even consumers that hold this version or gave up on it (on-call's redeliver). */
  readonly force?: boolean;
  readonly redrive?: RedrivePolicy;
}

/** One delivery to queue; `redrive` when the consumer's record is already on this version (see Ledger.markPending). */
export interface PlannedDelivery {
  readonly request: DeliveryRequest;
  readonly redrive?: ConsumerDelivery;
  /** A retrying delivery whose lost message is queued again: not before its recorded next attempt. */
  readonly notBefore?: Date;
}

/**
 * Which consumers are behind the current version and should get a delivery:
 *  - no record, or a record of another version (an equal creation time with another VersionId
 *    is not "newer": only the vault's AWSCURRENT is ever planned);
 *  - pending for longer than stalePendingMs, or retrying stalePendingMs past its next attempt
 *    (the message was lost); either one recorded before the queue's holdsSince (the message was
 *    lost for certain: queued again at once, a retrying one for its recorded next attempt);
 *  - failed for good, once failedRedriveAt has passed;
 *  - with force, every one of them except those on a version created later.
 * One on a newer version than "current" is never sent back.
 */
export function planDeliveries(current: CurrentVersion, consumers: readonly Consumer[], states: ReadonlyMap<string, ConsumerDelivery>, options: PlanOptions): PlannedDelivery[] {
  const request = (consumer: Consumer): DeliveryRequest => ({
    consumerId: consumer.id,
    registryId: current.registryId,
    secretArn: current.secretArn,
    versionId: current.versionId,
    versionCreatedAt: current.createdAt,
  });
  const now = options.now.getTime();
  const planned: PlannedDelivery[] = [];
  for (const consumer of consumers) {
    const state = states.get(consumer.id);
    if (!state || (state.versionId !== current.versionId && state.deliveredVersionId !== current.versionId)) {
      if (state && state.versionCreatedAt.getTime() > current.createdAt.getTime()) continue;
      planned.push({ request: request(consumer) });
      continue;
    }
    if (state.versionCreatedAt.getTime() > current.createdAt.getTime()) continue;
    const redrive = { request: request(consumer), redrive: state };
    if (options.force === true) {
      planned.push(redrive);
      continue;
    }
    if (state.deliveredVersionId === current.versionId) continue;
    if (dueAgain(state, now, options)) {
      const notBefore = state.state === "retrying" && state.nextAttemptAt !== undefined && state.nextAttemptAt.getTime() > now ? state.nextAttemptAt : undefined;
      planned.push(notBefore ? { ...redrive, notBefore } : redrive);
    }
  }
  return planned;
}

function dueAgain(state: ConsumerDelivery, now: number, options: PlanOptions): boolean {
  const lostWithTheQueue = options.queueHoldsSince !== undefined && state.updatedAt.getTime() < options.queueHoldsSince.getTime();
  switch (state.state) {
    case "failed":
      return now >= failedRedriveAt(state, options.redrive).getTime();
    case "retrying":
      return lostWithTheQueue || now - (state.nextAttemptAt ?? state.updatedAt).getTime() >= options.stalePendingMs;
    case "pending":
      return lostWithTheQueue || now - state.updatedAt.getTime() >= options.stalePendingMs;
    default:
      return false;
  }
}

/** Where a registry's consumers stand against the current version, for "why was nothing planned". */
export interface PlanStanding {
  readonly consumers: number;
  /** Hold the current version. */
  readonly holding: number;
  /** Pending: planned, first attempt under way. */
  readonly inFlight: number;
  readonly retrying: number;
  /** The soonest next attempt among the retrying ones. */
  readonly nextAttemptAt?: Date;
  /** Failed for good. */
  readonly failed: number;
  /** The soonest automatic re-plan of a failed one by reconcile. */
  readonly nextRedriveAt?: Date;
}

export function planStanding(current: CurrentVersion, consumers: readonly Consumer[], states: ReadonlyMap<string, ConsumerDelivery>, redrive: RedrivePolicy = DEFAULT_REDRIVE): PlanStanding {
  let holding = 0;
  let inFlight = 0;
  let retrying = 0;
  let failed = 0;
  let nextAttemptAt: number | undefined;
  let nextRedriveAt: number | undefined;
  const min = (a: number | undefined, b: number) => (a === undefined ? b : Math.min(a, b));
  for (const consumer of consumers) {
    const state = states.get(consumer.id);
    if (state === undefined) continue;
    if (state.state === "delivered" || state.state === "verified") {
      if (state.deliveredVersionId === current.versionId) holding += 1;
      continue;
    }
    if (state.versionId !== current.versionId) continue;
    if (state.state === "pending") inFlight += 1;
    else if (state.state === "retrying") {
      retrying += 1;
      nextAttemptAt = min(nextAttemptAt, (state.nextAttemptAt ?? state.updatedAt).getTime());
    } else if (state.state === "failed") {
      failed += 1;
      nextRedriveAt = min(nextRedriveAt, failedRedriveAt(state, redrive).getTime());
    }
  }
  return {
    consumers: consumers.length,
    holding,
    inFlight,
    retrying,
    ...(nextAttemptAt !== undefined && { nextAttemptAt: new Date(nextAttemptAt) }),
    failed,
    ...(nextRedriveAt !== undefined && { nextRedriveAt: new Date(nextRedriveAt) }),
  };
}

/** For people: why a plan queued nothing. */
export function describeStanding(standing: PlanStanding, versionId: string): string {
  if (standing.consumers > 0 && standing.holding === standing.consumers) {
    return `${standing.consumers === 1 ? "its one consumer already holds" : `all ${standing.consumers} consumers already hold`} version ${versionId}`;
  }
  const parts = [`${standing.holding} of ${standing.consumers} consumers hold version ${versionId}`];
  if (standing.inFlight > 0) parts.push(`${standing.inFlight} being delivered`);
  if (standing.retrying > 0) parts.push(`${standing.retrying} retrying (next attempt ${standing.nextAttemptAt?.toISOString() ?? "soon"})`);
  if (standing.failed > 0) {
    parts.push(`${standing.failed} failed for good (reconcile tries again from ${standing.nextRedriveAt?.toISOString() ?? "later"}; use --force to redeliver now)`);
  }
  return parts.join("; ");
}
