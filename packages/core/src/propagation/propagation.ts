import pLimit from "p-limit";
import type { Consumer, ConsumerDelivery, DeliveryOutcome, DeliveryQueue, DeliveryRequest, DeliveryTarget, RateLimiter } from "./delivery.js";
import { DeliveryError } from "./delivery.js";
import { NotFoundError, PullkeeperError } from "../model/errors.js";
import type { DeliveryFailed, DeliveryRequested } from "../model/events.js";
import type { Registry } from "../model/model.js";
import type { Clock, EventBus, Ledger, Vault } from "../model/ports.js";
import {
  DEFAULT_REDRIVE,
  DEFAULT_RETRY,
  describeStanding,
  planDeliveries,
  type PlannedDelivery,
  type PlanStanding,
  planStanding,
  type RedrivePolicy,
  type RetryPolicy,
  retryDelayMs,
} from "./propagation-plan.js";

export interface PropagationDependencies {
  readonly registries: readonly Registry[];
  readonly consumers: readonly Consumer[];
  readonly targets: ReadonlyMap<string, DeliveryTarget>;
  readonly vault: Vault;
  readonly ledger: Ledger;
  readonly queue: DeliveryQueue;
  readonly bus: EventBus;
  readonly rateLimiter: RateLimiter;
  readonly clock: Clock;
  /** One delivery's time budget; past it the attempt counts as a retryable timeout. */
  readonly deliveryTimeoutMs?: number;
  readonly stalePendingMs?: number;
  /** Backoff between attempts of a retryable failure (default DEFAULT_RETRY: 2 s doubling, capped at 15 min). */
  readonly retry?: Partial<RetryPolicy>;
  /** When reconcile plans a consumer that failed for good again (default DEFAULT_REDRIVE: 1 h doubling, capped at 24 h). */
  readonly redrive?: Partial<RedrivePolicy>;
  /** For tests: the jitter's randomness. */
  readonly random?: () => number;
}

export interface PropagationPlanResult {
  readonly registryId: string;
  readonly versionId?: string;
  readonly requested: number;
  /** Why nothing was planned, when nothing was. */
  readonly reason?: string;
  /** Where the consumers stood before this plan. */
  readonly standing?: PlanStanding;
}

export type DeliveryResult =
  | { readonly outcome: "delivered"; readonly status: DeliveryOutcome["status"]; readonly detail: string }
  /** failed: a stray message for a run that already failed for good (a re-plan resets the record to pending first). */
  | { readonly outcome: "skipped"; readonly reason: "superseded" | "duplicate" | "unknown-consumer" | "failed" }
  /** A cause a retry can mend: recorded as `retrying` and queued again for `nextAttemptAt`. */
  | {
      readonly outcome: "retrying";
      readonly code: string;
      readonly message: string;
      /** Failed attempts of this run so far (a deferral by a pause adds none). */
      readonly attempts: number;
      readonly nextAttemptAt: Date;
      /** Held back by a pause or a far rate-limit slot, not a failed attempt. */
      readonly deferred: boolean;
    }
  /** The message came before its consumer's next attempt was due (SQS delays stop at 15 minutes): queued again for the rest. */
  | { readonly outcome: "waiting"; readonly nextAttemptAt: Date }
  /** Failed for good: a cause no retry mends. */
  | { readonly outcome: "failed"; readonly code: string; readonly message: string; readonly attempts: number };

/** Which receive of its message this is (for logs; the engine counts attempts in the ledger). */
export interface Attempt {
  readonly number: number;
}

/** How long every worker leaves a provider alone after a throttling error without Retry-After. */
const THROTTLE_PAUSE_MS = 1_000;

/**
 * Spread added to a "not before" so the consumers a pause held back do not all come back at one
 * instant. Short: the shared limiter orders their writes anyway, and every ms here lengthens the
 * time from a Retry-After's end to everyone holding the version (bench: lifecycle.*).
 */
const NOT_BEFORE_JITTER_MS = 250;

/** A message this early for its consumer's next attempt is queued again; one less early runs (the limiter still holds it to any pause). */
const EARLY_TOLERANCE_MS = 1_000;

/**
 * The rate limiter's own store failed (DynamoDB on AWS): pullkeeper's bookkeeping, not the
 * provider's answer. It is thrown, never recorded as a failed attempt nor pauses the provider.
 */
class LimiterFailure extends Error {
  constructor(readonly failure: unknown) {
    super(failure instanceof Error ? failure.message : String(failure));
  }
}

/** A limiter call whose own failures are the bookkeeping's; its deferrals (DeliveryError) stay the delivery's. */
async function limiterCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof DeliveryError ? error : new LimiterFailure(error);
  }
}

function asDeliveryError(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof PullkeeperError) return new DeliveryError(error.code, error.message, { retryable: (error as { retryable?: boolean }).retryable ?? false });
  return new DeliveryError("error", error instanceof Error ? error.message : String(error), { retryable: true });
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeliveryError("timeout", `${what} took longer than ${ms} ms`, { retryable: true })), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Propagation: when a registry's credential changes, plan a delivery for every consumer that
 * is behind, queue them (IDs only, never the value), and deliver each with the provider's rate
 * limit, reading the value by VersionId at send time. A delivery never sends a version that is
 * no longer current, and the ledger never lets an older version overwrite a newer one.
 */
export class PropagationService {
  readonly #deps: PropagationDependencies;
  readonly #retry: RetryPolicy;
  readonly #redrive: RedrivePolicy;
  readonly #random: () => number;

  constructor(deps: PropagationDependencies) {
    this.#deps = deps;
    this.#retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.#redrive = { ...DEFAULT_REDRIVE, ...deps.redrive };
    this.#random = deps.random ?? Math.random;
  }

  registry(id: string): Registry {
    const registry = this.#deps.registries.find((r) => r.id === id);
    if (!registry) throw new NotFoundError(`registry ${id}`);
    return registry;
  }

  /**
   * Plans and queues the deliveries a registry's current version needs (see planDeliveries:
   * behind, lost messages, failed-for-good ones whose backoff is over; with force, all).
   */
  async propagate(registryId: string, options: { readonly force?: boolean; readonly consumerIds?: readonly string[] } = {}): Promise<PropagationPlanResult> {
    const { vault, ledger, queue, bus, clock } = this.#deps;
    const registry = this.registry(registryId);
    const consumers = this.#deps.consumers.filter((c) => c.registryId === registryId && (options.consumerIds === undefined || options.consumerIds.includes(c.id)));
    if (consumers.length === 0) return { registryId, requested: 0, reason: "no consumers" };
    let current;
    try {
      current = await vault.read(registry.secret, { stage: "AWSCURRENT" });
    } catch (error) {
      if (error instanceof NotFoundError) return { registryId, requested: 0, reason: "the secret has no current value yet" };
      throw error;
    }
    const states = new Map<string, ConsumerDelivery>();
    let cursor: string | undefined;
    do {
      const page = await ledger.consumerDeliveries(registryId, { limit: 100, ...(cursor !== undefined && { cursor }) });
      for (const state of page.items) states.set(state.consumerId, state);
      cursor = page.cursor;
    } while (cursor !== undefined);

    const now = clock.now();
    const version = { registryId, secretArn: current.arn, versionId: current.versionId, createdAt: current.createdAt };
    const planned = planDeliveries(version, consumers, states, {
      now,
      stalePendingMs: this.#deps.stalePendingMs ?? 15 * 60_000,
      ...(queue.holdsSince !== undefined && { queueHoldsSince: queue.holdsSince }),
      redrive: this.#redrive,
      ...(options.force !== undefined && { force: options.force }),
    });
    // Marked and queued a chunk at a time, so the first deliveries start while the rest are planned.
    const limit = pLimit(16);
    let requested = 0;
    for (let i = 0; i < planned.length; i += 100) {
      const chunk = await Promise.all(
        planned.slice(i, i + 100).map((p) =>
          limit(async () => {
            // "already": a concurrent trigger (or reconcile) claimed it first; duplicate triggers
            // for the same version coalesce into one delivery.
            const marked = await ledger.markPending(p.request, now, p.redrive ? { redrive: p.redrive } : undefined);
            return marked === "pending" ? p : undefined;
          }),
        ),
      );
      const claimed = chunk.filter((p): p is PlannedDelivery => p !== undefined);
      if (claimed.length === 0) continue;
      const requests = claimed.map((p) => p.request);
      const atOnce = claimed.filter((p) => p.notBefore === undefined).map((p) => p.request);
      if (atOnce.length > 0) await queue.send(atOnce);
      // A lost retrying message comes back for its recorded next attempt, not before: the re-drive
      // above reset the record to pending, so the engine no longer knows that attempt's time.
      for (const p of claimed) if (p.notBefore !== undefined) await queue.send([p.request], { delayMs: p.notBefore.getTime() - now.getTime() });
      requested += requests.length;
      const events: DeliveryRequested[] = requests.map((r) => ({
        type: "Delivery Requested",
        detail: { registryId: r.registryId, consumerId: r.consumerId, secretArn: r.secretArn, versionId: r.versionId },
      }));
      await bus.publish(events);
    }
    const standing = planStanding(version, consumers, states, this.#redrive);
    return { registryId, versionId: current.versionId, requested, ...(requested === 0 && { reason: describeStanding(standing, current.versionId) }), standing };
  }

  /** Every registry with consumers: what events missed, reconcile catches. */
  async reconcile(): Promise<PropagationPlanResult[]> {
    const ids = [...new Set(this.#deps.consumers.map((c) => c.registryId))];
    const results: PropagationPlanResult[] = [];
    for (const id of ids) {
      try {
        results.push(await this.propagate(id));
      } catch (error) {
        results.push({ registryId: id, requested: 0, reason: `failed: ${error instanceof Error ? error.message : String(error)}` });
      }
    }
    return results;
  }

  /**
   * One delivery. A cause no retry mends ends it `failed`; any other one (throttling, 5xx,
   * resets, timeouts, a provider pause) is recorded as `retrying` and the request is queued
   * again for its next attempt — with capped exponential backoff and jitter, never before the
   * provider's Retry-After — for as long as the version is AWSCURRENT: a superseded version is
   * dropped, not failed. Throws only when its own bookkeeping (ledger, queue) failed: then the
   * queue's redelivery, or reconcile, takes over.
   */
  async deliver(request: DeliveryRequest, _receive?: Attempt): Promise<DeliveryResult> {
    const { vault, ledger, clock, targets, rateLimiter, queue } = this.#deps;
    const consumer = this.#deps.consumers.find((c) => c.id === request.consumerId && c.registryId === request.registryId);
    if (!consumer) return { outcome: "skipped", reason: "unknown-consumer" };
    const registry = this.registry(request.registryId);

    const state = await ledger.consumerDelivery(request.registryId, request.consumerId);
    if (state && state.versionCreatedAt.getTime() > request.versionCreatedAt.getTime()) return { outcome: "skipped", reason: "superseded" };
    // Idempotent on (consumer, VersionId): a redelivered message changes nothing.
    if (state?.deliveredVersionId === request.versionId && (state.state === "delivered" || state.state === "verified")) {
      return { outcome: "skipped", reason: "duplicate" };
    }
    const sameRun = state !== undefined && state.versionId === request.versionId;
    if (sameRun && state.state === "failed") return { outcome: "skipped", reason: "failed" };
    if (sameRun && state.state === "retrying" && state.nextAttemptAt !== undefined) {
      const early = state.nextAttemptAt.getTime() - clock.now().getTime();
      if (early > EARLY_TOLERANCE_MS) {
        await queue.send([request], { delayMs: early });
        return { outcome: "waiting", nextAttemptAt: state.nextAttemptAt };
      }
    }
    const failedSoFar = sameRun ? state.attempts : 0;

    const target = targets.get(consumer.target.kind);
    const provider = await target?.provider(consumer);
    // The provider gate and pause this delivery's target gets (see DeliveryContext).
    let pausedTo = 0;
    const pause = async (ms: number): Promise<void> => {
      const until = clock.now().getTime() + ms;
      if (provider === undefined || until <= pausedTo) return;
      pausedTo = until;
      await rateLimiter.pause(provider, until);
    };
    const beforeWrite = async (): Promise<void> => {
      if (provider === undefined) return;
      const until = await limiterCall(() => rateLimiter.pausedUntil(provider));
      const now = clock.now().getTime();
      if (until !== undefined && until > now) {
        throw new DeliveryError("paused", `${provider} is paused until ${new Date(until).toISOString()} (a Retry-After): every worker holds back its writes`, {
          retryable: true,
          retryAfterMs: until - now,
          deferred: true,
        });
      }
    };
    let outcome: DeliveryOutcome;
    try {
      const stored = await vault.read(registry.secret, { versionId: request.versionId });
      // Only the current version goes out: a request overtaken by a newer rotation is dropped.
      if (!stored.stages.includes("AWSCURRENT")) return { outcome: "skipped", reason: "superseded" };
      if (!target || provider === undefined) throw new DeliveryError("unknown_target", `no delivery target for kind ${consumer.target.kind}`, { retryable: false });
      await limiterCall(() => rateLimiter.acquire(provider, { writes: Math.max(1, target.writesPerDelivery?.(consumer) ?? 1) }));
      outcome = await withTimeout(
        target.deliver({ consumer, registry, secretArn: request.secretArn, versionId: request.versionId, credential: stored.credential, beforeWrite, pause }),
        this.#deps.deliveryTimeoutMs ?? 30_000,
        `delivery to ${consumer.id}`,
      );
    } catch (caught) {
      // The limiter's store failed: the queue's redelivery (or reconcile) tries again; the record stays as it was.
      if (caught instanceof LimiterFailure) throw caught.failure;
      const error = asDeliveryError(caught);
      // The provider's Retry-After, or a short pause for a throttling error that gave none:
      // every worker holds back, not only this one. A deferral came from a pause already known,
      // and a target that reported the pause itself (DeliveryContext.pause) is not paused twice.
      if (!error.deferred && pausedTo === 0) {
        const pauseMs = error.retryAfterMs ?? (error.code === "throttled" ? THROTTLE_PAUSE_MS : undefined);
        if (pauseMs !== undefined) await pause(pauseMs);
      }
      const now = clock.now();
      const failure = { code: error.code, message: error.message };
      if (!error.retryable) return this.#failed(request, failure, failedSoFar + 1, now);

      const attempts = failedSoFar + (error.deferred ? 0 : 1);
      const backoff = error.deferred ? 0 : retryDelayMs(attempts, this.#retry, this.#random);
      const notBefore = error.retryAfterMs === undefined ? 0 : error.retryAfterMs + Math.round(this.#random() * NOT_BEFORE_JITTER_MS);
      const nextAttemptAt = new Date(now.getTime() + Math.max(backoff, notBefore));
      const recorded = await ledger.recordAttemptFailed(request, failure, false, now, { nextAttemptAt, counted: !error.deferred });
      if (recorded === "superseded") return { outcome: "skipped", reason: "superseded" };
      await queue.send([request], { delayMs: nextAttemptAt.getTime() - now.getTime() });
      return { outcome: "retrying", ...failure, attempts, nextAttemptAt, deferred: error.deferred };
    }
    // The consumer holds the version now. A ledger failure from here on is the bookkeeping's, not
    // the provider's: it throws (the message is redelivered, and the target is idempotent), and
    // is never recorded as a failed delivery nor pauses the provider.
    const at = clock.now();
    // History first: the write happened whatever the record says next, and the audit reads
    // what each environment loaded from these entries. A retry after a crash adds a twin, which is harmless.
    await ledger.appendHistory({ type: "delivered", registryId: request.registryId, at, consumerId: request.consumerId, versionId: request.versionId, status: outcome.status });
    const recorded = await ledger.recordDelivered(request, outcome, at);
    if (recorded === "superseded") return { outcome: "skipped", reason: "superseded" };
    return { outcome: "delivered", status: outcome.status, detail: outcome.detail };
  }

  async #failed(request: DeliveryRequest, failure: { readonly code: string; readonly message: string }, attempts: number, at: Date): Promise<DeliveryResult> {
    const { ledger, bus } = this.#deps;
    const failed: DeliveryFailed = {
      type: "Delivery Failed",
      detail: { registryId: request.registryId, consumerId: request.consumerId, secretArn: request.secretArn, versionId: request.versionId, ...failure, attempts },
    };
    // Announced before it is recorded: a bus failure leaves the record as it was, so the redelivered
    // message meets the failure again and announces it (at least once). Recorded first, the
    // redelivery would find the run failed and skip it, and nobody would ever hear of the failure.
    await bus.publish([failed]);
    const recorded = await ledger.recordAttemptFailed(request, failure, true, at);
    if (recorded === "superseded") return { outcome: "skipped", reason: "superseded" };
    await ledger.appendHistory({ type: "delivery-failed", registryId: request.registryId, at, consumerId: request.consumerId, versionId: request.versionId, ...failure });
    return { outcome: "failed", ...failure, attempts };
  }
}
