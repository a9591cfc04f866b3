import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { EVENT_SOURCE, type EventBus, type PullkeeperEvent, UpstreamError } from "@pullkeeper/core";
import pRetry from "p-retry";
import { clientOptions } from "./clients.js";
import { classifyAwsError } from "./errors.js";

export interface EventBridgeBusOptions {
  readonly busName: string;
  readonly client?: EventBridgeClient;
  /** Attempts per batch for entries that come back failed (default 5). */
  readonly attempts?: number;
  readonly minBackoffMs?: number;
}

/** PutEvents answered, but turned some entries down. */
class EntriesFailed extends Error {}

// PutEvents takes at most 10 entries per call.
const BATCH = 10;

/**
 * Publishes pullkeeper events. PutEvents can succeed as a call while failing some entries
 * (FailedEntryCount): those, and only those, are sent again with backoff.
 */
export class EventBridgeBus implements EventBus {
  readonly #client: EventBridgeClient;
  readonly #busName: string;
  readonly #attempts: number;
  readonly #minBackoffMs: number;

  constructor(options: EventBridgeBusOptions) {
    this.#client = options.client ?? new EventBridgeClient(clientOptions());
    this.#busName = options.busName;
    this.#attempts = options.attempts ?? 5;
    this.#minBackoffMs = options.minBackoffMs ?? 200;
  }

  async publish(events: readonly PullkeeperEvent[]): Promise<void> {
    const entries = events.map((e): PutEventsRequestEntry => ({
      EventBusName: this.#busName,
      Source: EVENT_SOURCE,
      DetailType: e.type,
      Detail: JSON.stringify(e.detail),
    }));
    const undelivered: string[] = [];
    for (let i = 0; i < entries.length; i += BATCH) {
      undelivered.push(...(await this.#sendBatch(entries.slice(i, i + BATCH))));
    }
    if (undelivered.length > 0) {
      throw new UpstreamError("events_undelivered", `${undelivered.length} of ${entries.length} events were not accepted by ${this.#busName}: ${[...new Set(undelivered)].join(", ")}`, true);
    }
  }

  /** Returns the error codes of entries still failed after every attempt. */
  async #sendBatch(batch: PutEventsRequestEntry[]): Promise<string[]> {
    let pending = batch;
    let lastErrors: string[] = [];
    try {
      await pRetry(
        async () => {
          const out = await this.#client.send(new PutEventsCommand({ Entries: pending }));
          if (!out.FailedEntryCount) {
            pending = [];
            return;
          }
          const results = out.Entries ?? [];
          lastErrors = results.filter((r) => r.ErrorCode).map((r) => r.ErrorCode as string);
          pending = pending.filter((_, i) => results[i]?.ErrorCode !== undefined);
          throw new EntriesFailed(`${pending.length} entries failed`);
        },
        // Only failed entries are sent again: a failed call was retried by the SDK client already.
        { retries: this.#attempts - 1, minTimeout: this.#minBackoffMs, factor: 2, randomize: true, shouldRetry: ({ error }) => error instanceof EntriesFailed },
      );
    } catch (error) {
      if (pending.length === 0) return [];
      if (lastErrors.length === 0) throw classifyAwsError(error, `EventBridge PutEvents on ${this.#busName}`);
    }
    return pending.length === 0 ? [] : lastErrors;
  }
}
