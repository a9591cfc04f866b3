import { type BucketState, mergeBucketState } from "@pullkeeper/core";
import { classifyAwsError } from "./errors.js";

/** What a request saw of the bucket, and when that request began (by our clock). */
export interface Observation {
  readonly state: BucketState;
  readonly at: number;
}

/**
 * The process-local fast path of DynamoRateLimiter: what any acquire of this process last saw of
 * a bucket (from its reads and from its own writes' new values), shared by all of them, and at
 * most one read per provider in flight, shared too. It is only a hint: everything that matters
 * is in the write's condition, which DynamoDB checks on the item itself.
 */
export class BucketLooks {
  readonly #read: (provider: string) => Promise<BucketState>;
  readonly #clock: () => number;
  /** Per provider, the freshest look at its bucket by any acquire of this process. */
  readonly #seen = new Map<string, Observation>();
  /** Per provider, the read in flight, shared by every acquire that can use it. */
  readonly #reading = new Map<string, { readonly at: number; readonly done: Promise<void> }>();

  constructor(read: (provider: string) => Promise<BucketState>, clock: () => number) {
    this.#read = read;
    this.#clock = clock;
  }

  get(provider: string): Observation | undefined {
    return this.#seen.get(provider);
  }

  has(provider: string): boolean {
    return this.#seen.has(provider);
  }

  /** Both numbers only ever grow, so the freshest look is the max of what was seen. */
  observe(provider: string, state: BucketState, at: number): void {
    const old = this.#seen.get(provider);
    this.#seen.set(provider, { state: mergeBucketState(old?.state, state), at: Math.max(old?.at ?? -Infinity, at) });
  }

  /** Resolves once a look begun after `after` is held: the read in flight if it began late enough, else a new one. */
  async look(provider: string, after: number): Promise<void> {
    const inFlight = this.#reading.get(provider);
    if (inFlight !== undefined && inFlight.at > after) {
      try {
        return await inFlight.done;
      } catch (error) {
        throw classifyAwsError(error, "rate limiter GetItem");
      }
    }
    const at = this.#clock();
    const read = async () => {
      this.observe(provider, await this.#read(provider), at);
    };
    const entry = { at, done: read() };
    this.#reading.set(provider, entry);
    try {
      await entry.done;
    } catch (error) {
      throw classifyAwsError(error, "rate limiter GetItem");
    } finally {
      if (this.#reading.get(provider) === entry) this.#reading.delete(provider);
    }
  }
}
