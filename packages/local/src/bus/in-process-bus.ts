import { randomUUID } from "node:crypto";
// From node:timers, not the globals: vitest's fake timers replace the globals, and a test that
// fakes time for a scheduler must not freeze event delivery (or drain()) as a side effect.
import { setImmediate } from "node:timers";
import { setTimeout as sleep } from "node:timers/promises";
import { type Clock, EVENT_SOURCE, type EventBus, InvalidInputError, PullkeeperError, type PullkeeperEvent, systemClock } from "@pullkeeper/core";

/**
 * An event as an EventBridge rule target receives it. The embedded runtime delivers exactly this
 * shape so a handler written for AWS runs unchanged locally: account `000000000000`, region
 * `local`, `time` to the second like EventBridge, and a `detail` that went through JSON (fields
 * that are undefined are gone, dates are strings).
 */
export type EventEnvelope<E extends PullkeeperEvent = PullkeeperEvent> = E extends PullkeeperEvent
  ? {
      readonly version: "0";
      readonly id: string;
      readonly "detail-type": E["type"];
      readonly source: typeof EVENT_SOURCE;
      readonly account: string;
      readonly time: string;
      readonly region: string;
      readonly resources: readonly string[];
      readonly detail: E["detail"];
    }
  : never;

/** The part of an EventBridge event pattern pullkeeper uses: each listed field must be one of the values. */
export interface EventPattern {
  readonly source?: readonly string[];
  readonly "detail-type"?: readonly string[];
}

export type EventHandler = (envelope: EventEnvelope) => Promise<void>;

export interface DeadLetter {
  readonly envelope: EventEnvelope;
  /** The last error's message. */
  readonly error: string;
  readonly attempts: number;
  /** ISO 8601. */
  readonly failedAt: string;
}

export interface InProcessBusOptions {
  readonly clock?: Clock;
  /** Deliveries tried per subscriber and event before it is dead-lettered (default 4). */
  readonly maxAttempts?: number;
  /** Wait before the first retry; doubles each time (default 200 ms). */
  readonly backoffMs?: number;
  /** Dead letters kept, oldest dropped first (default 100). */
  readonly maxDeadLetters?: number;
  /** One line per dead letter. Default: stderr. */
  readonly log?: (line: string) => void;
  /** Waits between attempts. Default: node:timers/promises setTimeout (real time, even under fake timers). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export const LOCAL_ACCOUNT = "000000000000";
export const LOCAL_REGION = "local";

interface Subscriber {
  readonly pattern: EventPattern;
  readonly handler: EventHandler;
  active: boolean;
  /** The end of this subscriber's delivery chain: deliveries run one after another, in order. */
  tail: Promise<void>;
}

/**
 * The embedded runtime's EventBridge: `publish` resolves once the events are queued; each
 * subscriber whose pattern matches gets them asynchronously (never before publish has returned),
 * one at a time, in publish order. Subscribers are independent: a slow one delays only itself.
 * A handler that throws is retried with exponential backoff (the subscriber's later events wait
 * meanwhile, to keep the order); after the last attempt the event is recorded in `deadLetters`.
 * Unlike AWS's bus, publish therefore never reports delivery failures: look at `deadLetters`.
 */
export class InProcessBus implements EventBus {
  readonly #clock: Clock;
  readonly #maxAttempts: number;
  readonly #backoffMs: number;
  readonly #maxDeadLetters: number;
  readonly #log: (line: string) => void;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #subscribers: Subscriber[] = [];
  readonly #pending = new Set<Promise<void>>();
  readonly #deadLetters: DeadLetter[] = [];
  #closed = false;

  constructor(options: InProcessBusOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxAttempts = positiveInteger(options.maxAttempts ?? 4, "maxAttempts");
    this.#backoffMs = Math.max(0, options.backoffMs ?? 200);
    this.#maxDeadLetters = positiveInteger(options.maxDeadLetters ?? 100, "maxDeadLetters");
    this.#log = options.log ?? ((line) => void process.stderr.write(`${line}\n`));
    this.#sleep = options.sleep ?? (async (ms) => void (await sleep(ms)));
  }

  /** Deliveries that failed every attempt, oldest first (at most `maxDeadLetters`). */
  get deadLetters(): readonly DeadLetter[] {
    return [...this.#deadLetters];
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Delivers every later event matching `pattern` to `handler`; returns the unsubscribe function,
   * which also drops this handler's deliveries that have not started yet.
   */
  subscribe(pattern: EventPattern, handler: EventHandler): () => void {
    for (const key of ["source", "detail-type"] as const) {
      const values = pattern[key];
      if (values !== undefined && (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== "string"))) {
        throw new InvalidInputError(`event pattern field "${key}" must be a non-empty array of strings`);
      }
    }
    if (typeof handler !== "function") throw new InvalidInputError("an event handler must be a function");
    const subscriber: Subscriber = { pattern: { ...pattern }, handler, active: true, tail: Promise.resolve() };
    this.#subscribers.push(subscriber);
    return () => {
      subscriber.active = false;
      const index = this.#subscribers.indexOf(subscriber);
      if (index >= 0) this.#subscribers.splice(index, 1);
    };
  }

  /** Queues the events for every matching subscriber; throws once the bus is closed. */
  async publish(events: readonly PullkeeperEvent[]): Promise<void> {
    if (this.#closed) throw new PullkeeperError("bus_closed", `the in-process event bus is closed: ${events.length} event(s) not accepted`);
    const time = this.#clock.now().toISOString().replace(/\.\d{3}Z$/, "Z");
    const serialized = events.map((event) => {
      const envelope = {
        version: "0",
        id: randomUUID(),
        "detail-type": event.type,
        source: EVENT_SOURCE,
        account: LOCAL_ACCOUNT,
        time,
        region: LOCAL_REGION,
        resources: [],
        detail: event.detail,
      };
      return { detailType: event.type, json: JSON.stringify(envelope) };
    });
    for (const { detailType, json } of serialized) {
      for (const subscriber of this.#subscribers) {
        if (matches(subscriber.pattern, EVENT_SOURCE, detailType)) this.#enqueue(subscriber, json);
      }
    }
  }

  /** Resolves once every queued delivery (including those queued meanwhile) has finished. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Stops accepting events; deliveries already queued go on (await drain() for them). */
  close(): void {
    this.#closed = true;
  }

  #enqueue(subscriber: Subscriber, json: string): void {
    // Each delivery starts on a later turn of the event loop: a handler never runs before the
    // publisher has got on with its own work, as with EventBridge.
    const delivery = subscriber.tail
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.#deliver(subscriber, json))
      .catch(() => undefined);
    subscriber.tail = delivery;
    this.#pending.add(delivery);
    void delivery.then(() => this.#pending.delete(delivery));
  }

  /** Never rejects. Each attempt gets its own copy of the envelope. */
  async #deliver(subscriber: Subscriber, json: string): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      if (!subscriber.active) return;
      try {
        await subscriber.handler(JSON.parse(json) as EventEnvelope);
        return;
      } catch (error) {
        lastError = error;
      }
      if (attempt < this.#maxAttempts) {
        try {
          await this.#sleep(this.#backoffMs * 2 ** (attempt - 1));
        } catch {
          // a broken sleep only shortens the wait
        }
      }
    }
    if (!subscriber.active) return;
    const envelope = JSON.parse(json) as EventEnvelope;
    const error = message(lastError);
    this.#deadLetters.push({ envelope, error, attempts: this.#maxAttempts, failedAt: this.#clock.now().toISOString() });
    while (this.#deadLetters.length > this.#maxDeadLetters) this.#deadLetters.shift();
    try {
      this.#log(`bus: ${envelope["detail-type"]} ${envelope.id} dead-lettered after ${this.#maxAttempts} attempts: ${error}`);
    } catch {
      // a broken log sink must not break delivery
    }
  }
}

function matches(pattern: EventPattern, source: string, detailType: string): boolean {
  return (pattern.source === undefined || pattern.source.includes(source)) && (pattern["detail-type"] === undefined || pattern["detail-type"].includes(detailType));
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ").trim() || (error instanceof Error ? error.name : "unknown error");
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${name} must be a whole number of 1 or more, got ${value}`);
  return value;
}
