import pLimit from "p-limit";
import type { Consumer, ConsumerDelivery, DeliveryOutcome, DeliveryQueue, DeliveryRequest, DeliveryTarget, RateLimiter } from "./delivery.js";
import { DeliveryError } from "./delivery.js";
import { NotFoundError, PullkeeperError } from "./errors.js";
import type { DeliveryFailed, DeliveryRequested } from "./events.js";
import type { Registry } from "./model.js";
import type { Clock, EventBus, Ledger, Vault } from "./ports.js";
import { planDeliveries } from "./propagation-plan.js";

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
}

export interface PropagationPlanResult {
  readonly registryId: string;
  readonly versionId?: string;
  readonly requested: number;
  /** Why nothing was planned, when nothing was. */
  readonly reason?: string;
}

export type DeliveryResult =
  | { readonly outcome: "delivered"; readonly status: DeliveryOutcome["status"]; readonly detail: string }
  | { readonly outcome: "skipped"; readonly reason: "superseded" | "duplicate" | "unknown-consumer" }
  | { readonly outcome: "failed"; readonly code: string; readonly message: string };

export interface Attempt {
  readonly number: number;
  /** No retry follows this attempt: a failure now is final. */
  readonly final: boolean;
}

/** How long every worker leaves a provider alone after a throttling error without Retry-After. */
const THROTTLE_PAUSE_MS = 1_000;

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

  constructor(deps: PropagationDependencies) {
    this.#deps = deps;
  }

  registry(id: string): Registry {
    const registry = this.#deps.registries.find((r) => r.id === id);
    if (!registry) throw new NotFoundError(`registry ${id}`);
    return registry;
  }

  /** Plans and queues the deliveries a registry's current version needs. */
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
    const planned = planDeliveries(
      { registryId, secretArn: current.arn, versionId: current.versionId, createdAt: current.createdAt },
      consumers,
      states,
      { now, stalePendingMs: this.#deps.stalePendingMs ?? 15 * 60_000, ...(options.force !== undefined && { force: options.force }) },
    );
    // Marked and queued a chunk at a time, so the first deliveries start while the rest are planned.
    const limit = pLimit(16);
    let requested = 0;
    for (let i = 0; i < planned.length; i += 100) {
      const chunk = await Promise.all(
        planned.slice(i, i + 100).map((request) =>
          limit(async () => {
            const marked = await ledger.markPending(request, now);
            // "already" for a consumer we saw no record of means a concurrent trigger claimed it
            // first: duplicate triggers for the same version coalesce into one delivery.
            return marked === "pending" || (marked === "already" && states.has(request.consumerId)) ? request : undefined;
          }),
        ),
      );
      const requests = chunk.filter((r): r is DeliveryRequest => r !== undefined);
      if (requests.length === 0) continue;
      await queue.send(requests);
      requested += requests.length;
      const events: DeliveryRequested[] = requests.map((r) => ({
        type: "Delivery Requested",
        detail: { registryId: r.registryId, consumerId: r.consumerId, secretArn: r.secretArn, versionId: r.versionId },
      }));
      await bus.publish(events);
    }
    return { registryId, versionId: current.versionId, requested };
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
   * One delivery. Throws a retryable DeliveryError for the queue to try again; returns
   * `failed` when the failure is final (not retryable, or the last attempt).
   */
  async deliver(request: DeliveryRequest, attempt: Attempt): Promise<DeliveryResult> {
    const { vault, ledger, clock, targets, rateLimiter } = this.#deps;
    const consumer = this.#deps.consumers.find((c) => c.id === request.consumerId && c.registryId === request.registryId);
    if (!consumer) return { outcome: "skipped", reason: "unknown-consumer" };
    const registry = this.registry(request.registryId);

    const state = await ledger.consumerDelivery(request.registryId, request.consumerId);
    if (state && state.versionCreatedAt.getTime() > request.versionCreatedAt.getTime()) return { outcome: "skipped", reason: "superseded" };
    // Idempotent on (consumer, VersionId): a redelivered message changes nothing.
    if (state?.deliveredVersionId === request.versionId && (state.state === "delivered" || state.state === "verified")) {
      return { outcome: "skipped", reason: "duplicate" };
    }

    const target = targets.get(consumer.target.kind);
    const provider = await target?.provider(consumer);
    try {
      const stored = await vault.read(registry.secret, { versionId: request.versionId });
      // Only the current version goes out: a request overtaken by a newer rotation is dropped.
      if (!stored.stages.includes("AWSCURRENT")) return { outcome: "skipped", reason: "superseded" };
      if (!target || provider === undefined) throw new DeliveryError("unknown_target", `no delivery target for kind ${consumer.target.kind}`, { retryable: false });
      await rateLimiter.acquire(provider);
      const outcome = await withTimeout(
        target.deliver({ consumer, registry, secretArn: request.secretArn, versionId: request.versionId, credential: stored.credential }),
        this.#deps.deliveryTimeoutMs ?? 30_000,
        `delivery to ${consumer.id}`,
      );
      const at = clock.now();
      // History first: the write happened whatever the record says next, and the audit reads
      // what each environment loaded from these entries. A retry after a crash adds a twin, which is harmless.
      await ledger.appendHistory({ type: "delivered", registryId: request.registryId, at, consumerId: request.consumerId, versionId: request.versionId, status: outcome.status });
      const recorded = await ledger.recordDelivered(request, outcome, at);
      if (recorded === "superseded") return { outcome: "skipped", reason: "superseded" };
      return { outcome: "delivered", status: outcome.status, detail: outcome.detail };
    } catch (caught) {
      const error = asDeliveryError(caught);
      // The provider's Retry-After, or a short pause for a throttling error that gave none:
      // every worker holds back, not only this one.
      const pauseMs = error.retryAfterMs ?? (error.code === "throttled" ? THROTTLE_PAUSE_MS : undefined);
      if (pauseMs !== undefined && provider !== undefined) await rateLimiter.pause(provider, clock.now().getTime() + pauseMs);
      const final = !error.retryable || attempt.final;
      await ledger.recordAttemptFailed(request, { code: error.code, message: error.message }, final, clock.now());
      if (!final) throw error;
      await ledger.appendHistory({ type: "delivery-failed", registryId: request.registryId, at: clock.now(), consumerId: request.consumerId, versionId: request.versionId, code: error.code, message: error.message });
      const failed: DeliveryFailed = {
        type: "Delivery Failed",
        detail: { registryId: request.registryId, consumerId: request.consumerId, secretArn: request.secretArn, versionId: request.versionId, code: error.code, message: error.message, attempts: attempt.number },
      };
      await this.#deps.bus.publish([failed]);
      return { outcome: "failed", code: error.code, message: error.message };
    }
  }
}
