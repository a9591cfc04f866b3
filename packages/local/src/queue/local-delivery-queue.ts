import type { Attempt, DeliveryQueue, DeliveryRequest } from "@pullkeeper/core";

export interface LocalDeliveryQueueOptions {
  /**
   * Runs one delivery; a throw means its bookkeeping failed (a retryable delivery failure does not
   * throw: the engine queues it again itself, with a delay): try again later, or dead-letter after
   * the last attempt.
   */
  readonly handle: (request: DeliveryRequest, attempt: Attempt) => Promise<void>;
  /** Deliveries running at once (SQS's batch × Lambda concurrency, here). */
  readonly concurrency?: number;
  /** Like SQS's maxReceiveCount: receives of a message whose handler threw before it goes to the dead-letter list. */
  readonly maxAttempts?: number;
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxDeadLetters?: number;
  readonly log?: (line: string) => void;
}

interface Message {
  readonly request: DeliveryRequest;
  readonly attempt: number;
  readonly notBefore: number;
}

export interface DeadLetter {
  readonly request: DeliveryRequest;
  readonly attempts: number;
  readonly error: string;
  readonly at: string;
}

/**
 * SQS with a redrive policy, in one process: bounded concurrency, delayed sends (like
 * DelaySeconds, without its 15-minute cap), and for a handler that throws, exponential backoff
 * with full jitter between receives and a dead-letter list after the last one. Messages are in
 * memory: one lost to a crash or a stop is re-planned by the next reconcile — the runtime's, at
 * its start — since its ledger record, pending or retrying, predates `holdsSince`.
 */
export class LocalDeliveryQueue implements DeliveryQueue {
  readonly holdsSince = new Date();
  readonly #options: Required<Omit<LocalDeliveryQueueOptions, "log">> & { log: (line: string) => void };
  readonly #waiting: Message[] = [];
  readonly #deadLetters: DeadLetter[] = [];
  #running = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #idle: (() => void)[] = [];

  constructor(options: LocalDeliveryQueueOptions) {
    this.#options = {
      concurrency: 8,
      maxAttempts: 5,
      baseBackoffMs: 1_000,
      maxBackoffMs: 60_000,
      maxDeadLetters: 1_000,
      log: () => undefined,
      ...options,
    };
  }

  get deadLetters(): readonly DeadLetter[] {
    return this.#deadLetters;
  }

  get depth(): number {
    return this.#waiting.length + this.#running;
  }

  async send(requests: readonly DeliveryRequest[], options: { readonly delayMs?: number } = {}): Promise<void> {
    if (this.#stopped) throw new Error("the delivery queue is stopped");
    const notBefore = Date.now() + Math.max(0, options.delayMs ?? 0);
    for (const request of requests) this.#waiting.push({ request, attempt: 1, notBefore });
    this.#pump();
  }

  /** Messages waiting for their delay or a worker, and running (tests, the CLI's progress). */
  get waiting(): readonly { readonly request: DeliveryRequest; readonly notBefore: Date }[] {
    return this.#waiting.map((m) => ({ request: m.request, notBefore: new Date(m.notBefore) }));
  }

  /** Resolves when nothing is waiting or running (tests, shutdown of an idle runtime); delayed messages count as waiting. */
  drain(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Takes no new work; deliveries in flight finish. What waits stays pending in the ledger for reconcile. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#running === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#stopped) {
      if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    const now = Date.now();
    while (this.#running < this.#options.concurrency) {
      const index = this.#waiting.findIndex((m) => m.notBefore <= now);
      if (index < 0) break;
      const [message] = this.#waiting.splice(index, 1) as [Message];
      this.#running++;
      void this.#run(message);
    }
    const next = this.#waiting.reduce((min, m) => Math.min(min, m.notBefore), Number.POSITIVE_INFINITY);
    if (Number.isFinite(next) && this.#running < this.#options.concurrency) {
      this.#timer = setTimeout(() => this.#pump(), Math.max(0, next - now));
    }
    if (this.depth === 0 || (this.#stopped && this.#running === 0)) for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #run(message: Message): Promise<void> {
    const final = message.attempt >= this.#options.maxAttempts;
    try {
      await this.#options.handle(message.request, { number: message.attempt });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (final) {
        this.#deadLetters.push({ request: message.request, attempts: message.attempt, error: reason, at: new Date().toISOString() });
        if (this.#deadLetters.length > this.#options.maxDeadLetters) this.#deadLetters.shift();
        this.#options.log(`delivery to ${message.request.consumerId} dead-lettered after ${message.attempt} attempts: ${reason}`);
      } else {
        // Full jitter: spreads retries of many consumers instead of synchronising them.
        const ceiling = Math.min(this.#options.maxBackoffMs, this.#options.baseBackoffMs * 2 ** (message.attempt - 1));
        this.#waiting.push({ request: message.request, attempt: message.attempt + 1, notBefore: Date.now() + Math.random() * ceiling });
      }
    } finally {
      this.#running--;
      this.#pump();
    }
  }
}
