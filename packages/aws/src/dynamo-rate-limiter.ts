import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DeliveryError, type GcraLimit, gcraGrantAt, gcraLimit, gcraSlot, InvalidInputError, type RateLimit, type RateLimiter } from "@pullkeeper/core";
import { BucketLooks, type Observation } from "./bucket-looks.js";
import { clientOptions } from "./clients.js";
import { classifyAwsError } from "./errors.js";
import { isConditionFailed, RateBucketTable, type Reservation } from "./rate-bucket-table.js";

export { measureRate, type RateLimit } from "@pullkeeper/core";
export { rateKey } from "./rate-bucket-table.js";

export interface DynamoRateLimiterOptions {
  readonly client?: DynamoDBClient;
  readonly tableName: string;
  /** Per provider; a provider without a limit is not limited (a pause still holds it back). */
  readonly limits: Readonly<Record<string, RateLimit>> | ((provider: string) => RateLimit | undefined);
  /** Milliseconds since the epoch; every worker's clock should be NTP-synced (Lambda's is). */
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * How long acquire() may wait for a slot (or for a pause to end). Beyond that it does not
   * wait: it rejects at once with a deferred `throttled` / `paused` DeliveryError saying "not
   * before", and the delivery is rescheduled for then (default 60 s).
   */
  readonly maxWaitMs?: number;
  /**
   * A write goes out within this long of a look at the bucket that saw no pause, and pause()
   * waits this long before it returns (default 50 ms). Longer than the table's read latency.
   */
  readonly pauseGraceMs?: number;
}

const DEFAULT_MAX_WAIT_MS = 60_000;
const DEFAULT_PAUSE_GRACE_MS = 50;

const covers = (seen: Observation | undefined, at: number) => seen?.state.pausedUntilMs !== undefined && seen.state.pausedUntilMs > at;

/**
 * Per-provider rate limits shared by every process that uses the same table (several Lambda
 * invocations at once count against one budget, not one each).
 *
 * Algorithm: GCRA (see gcra.ts in core), one number per provider in the table
 * (RateBucketTable). With T = 1000 / perSecond and τ = (burst - 1) · T, a write may go out at
 * g = max(now, tat - τ) and moves tat to max(tat, now) + T.
 *
 * Used in reservation mode: acquire() takes its slot with one conditional UpdateItem and then
 * sleeps until g, instead of polling "is there a token yet?". Why:
 *  - While workers queue up (tat ≥ now), the write is an atomic `SET tat = tat + T` guarded
 *    only by "no new pause" and "the slot is within maxWaitMs". Concurrent increments do not
 *    conflict with each other, so N workers do not stampede on compare-and-swap retries;
 *    ConditionalCheckFailed only happens when the state crosses a boundary (idle → busy: the
 *    worker then tries the other write shape at once, no read), on a new pause or near the
 *    deadline (then it reads again, after a little jitter).
 *  - Slots are handed out in order, exactly T apart: the long-run rate is exact for any burst
 *    ≥ 1, because the schedule lives in the table, not in timers — a worker that wakes late
 *    loses nothing, where a polling bucket with burst 1 loses every late wake-up. Nobody sleeps
 *    "until the next token plus jitter" only to find another worker took it.
 *  - A reservation is made only when its slot is within maxWaitMs, so a deferral never leaves a
 *    slot reserved by nobody; a worker whose slot is further away does not wait: it rejects at
 *    once with a deferred DeliveryError carrying the wait as `retryAfterMs` ("not before"), and
 *    its delivery is rescheduled for then — not failed.
 *  - One acquire may take several writes (`writes`, e.g. the three secrets of a Codespaces
 *    delivery): tat moves by writes · T and they all go out at the grant, back to back, so the
 *    budget counts writes while a delivery's writes are not spread over several slots.
 *
 * Pauses (Retry-After, AWS throttling) are a second attribute, `pausedUntilMs`, raised with a
 * conditional write (max of existing and new). A pause counts as an empty bucket at its end:
 * after it, writes resume at the steady rate, not with a burst. A grant goes out within
 * `pauseGraceMs` (50 ms) of a look at the bucket that saw no pause, and pause() returns only
 * `pauseGraceMs` after its write: so once pause() has returned, no worker starts a write before
 * its end — also workers that had reserved a slot earlier: they look again just before their
 * slot and, if it falls in the pause, queue again after it (the old slot is forfeited: slower,
 * never faster).
 *
 * Process-local fast path (BucketLooks), which keeps the cross-process guarantee: what this
 * process last saw of a bucket picks the write, so the usual acquire is one UpdateItem and no
 * read.
 *
 * Each grant is planned for when the caller gets it: "now" is taken as the moment our write
 * will have returned (a decaying maximum of its latency, at most half a grace), so the table's
 * latency does not squeeze grants together.
 *
 * Between the writes of one delivery, pausedUntil() is the gate: it answers from this process's
 * own look when that began less than a grace ago, else with one consistent read (shared by the
 * process's concurrent callers), so a pause stops the rest of deliveries already under way too.
 *
 * Guarantee: across all workers, any window of W ms holds at most burst + W / T slots, plus the
 * writes - 1 extra of a multi-write grant (workers' clock skew aside). A grant reaches its caller at its slot, or later
 * when the table answers slower than planned: then grants can bunch by that delay / T.
 * Only single-item conditional writes: no transactions, no TTL.
 * One hot item per provider sustains ~1,000 writes/s on DynamoDB, far above provider limits.
 */
export class DynamoRateLimiter implements RateLimiter {
  readonly #table: RateBucketTable;
  readonly #limits: (provider: string) => RateLimit | undefined;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #maxWaitMs: number;
  readonly #graceMs: number;
  readonly #looks: BucketLooks;
  /** A decaying maximum of the reservation write's latency, in ms. */
  #latency = 0;

  constructor(options: DynamoRateLimiterOptions) {
    const doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient(clientOptions()), {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = new RateBucketTable(doc, options.tableName);
    const limits = options.limits;
    this.#limits = typeof limits === "function" ? limits : (provider) => (Object.hasOwn(limits, provider) ? limits[provider] : undefined);
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.#graceMs = options.pauseGraceMs ?? DEFAULT_PAUSE_GRACE_MS;
    this.#looks = new BucketLooks((provider) => this.#table.read(provider), this.#clock);
    if (!(this.#maxWaitMs >= 0)) throw new InvalidInputError("maxWaitMs must be a number ≥ 0");
    if (!(this.#graceMs > 0 && Number.isFinite(this.#graceMs))) throw new InvalidInputError("pauseGraceMs must be a positive number");
  }

  async acquire(provider: string, options: { readonly writes?: number } = {}): Promise<void> {
    const writes = options.writes ?? 1;
    if (!(Number.isInteger(writes) && writes >= 1)) throw new InvalidInputError("acquire: writes must be an integer ≥ 1");
    const limit = this.#resolve(provider);
    const deadline = this.#clock() + this.#maxWaitMs;
    if (limit === undefined) return this.#awaitPause(provider, deadline);

    if (!this.#looks.has(provider)) await this.#looks.look(provider, -Infinity);
    // After a failed write, the other shape is tried once before reading again (see #reserve).
    let flip: "queued" | "room" | undefined;
    let conflicts = 0;
    for (;;) {
      const state = this.#looks.get(provider)?.state ?? { tat: undefined, pausedUntilMs: undefined };
      const checkedAt = this.#clock();
      // Plan for when our write will have returned, which is when the caller gets its grant.
      const now = checkedAt + this.#latency;
      const plan = gcraSlot(state, now, limit);
      const { floor, slot } = plan;
      const queued = flip === undefined ? plan.queued : flip === "queued";
      const latest = Math.max(now, deadline);
      if (slot > latest) throw this.#notBefore(provider, slot - now, state.pausedUntilMs !== undefined && state.pausedUntilMs > now ? state.pausedUntilMs : undefined);

      let reserved: number;
      try {
        reserved = await this.#reserve(provider, { queued, floor, pausedSeen: state.pausedUntilMs, limit, writes, latestSlot: latest }, checkedAt);
        this.#latency = Math.min(this.#graceMs / 2, Math.max(this.#clock() - checkedAt, this.#latency * 0.95));
      } catch (error) {
        if (!isConditionFailed(error)) throw classifyAwsError(error, "rate limiter UpdateItem");
        if (flip === undefined) {
          // The bucket crossed `floor` under us (typically idle → busy: N workers wrote "room"
          // at once and one won): the other shape is now the right one, no need to read.
          flip = queued ? "room" : "queued";
          continue;
        }
        // Both failed: a pause came, or the deadline is near. Look again, after a little jitter
        // so that workers who collided do not collide again.
        flip = undefined;
        conflicts += 1;
        await this.#sleep(Math.random() * Math.min(50, 2 ** conflicts));
        await this.#looks.look(provider, this.#clock());
        continue;
      }
      if (await this.#goAt(provider, gcraGrantAt(reserved, writes, limit, now))) return;
      // A pause came while we waited: our slot is forfeited, queue again after it.
      flip = undefined;
    }
  }

  /**
   * Pauses the provider for every worker. Resolves `pauseGraceMs` after the write, by which time
   * every worker that had looked before the pause has gone: from then on nobody starts a write
   * before `untilMs`.
   */
  async pause(provider: string, untilMs: number): Promise<void> {
    if (!Number.isFinite(untilMs)) throw new InvalidInputError("pause: untilMs must be a finite number of ms since the epoch");
    if (untilMs <= this.#clock()) return;
    // Our own acquires and gates know at once, before the write (this refreshes nothing: `at` stays as it was).
    this.#looks.observe(provider, { tat: undefined, pausedUntilMs: untilMs }, -Infinity);
    await this.#table.raisePause(provider, untilMs);
    await this.#sleepUntil(this.#clock() + this.#graceMs);
  }

  /**
   * The gate between writes: the end of the provider's pause if it is paused now, else
   * undefined. A write may start right after it answered undefined: the answer rests on a look
   * at the bucket begun less than `pauseGraceMs` ago (this process's last look, or a consistent
   * read shared by concurrent callers), which is what pause()'s wait covers. A pause this process
   * set, or saw, is answered without a read.
   */
  async pausedUntil(provider: string): Promise<number | undefined> {
    for (;;) {
      const now = this.#clock();
      const seen = this.#looks.get(provider);
      const until = seen?.state.pausedUntilMs;
      if (until !== undefined && until > now) return until;
      if (seen !== undefined && now < seen.at + this.#graceMs) return undefined;
      await this.#looks.look(provider, now - 1);
      const after = this.#looks.get(provider);
      const paused = after?.state.pausedUntilMs;
      if (paused !== undefined && paused > this.#clock()) return paused;
      if (after !== undefined && this.#clock() < after.at + this.#graceMs) return undefined;
      // The read took longer than a grace: look again.
    }
  }

  /**
   * Waits for `at` and resolves true then, unless a pause covering `at` shows up (false).
   *
   * The rule that makes pauses hold for slots reserved earlier, at no cost in timing: a grant
   * goes out within `pauseGraceMs` of the start of a look at the bucket (a read, or our own
   * reservation write) that saw no pause covering it; pause() waits as long before it returns.
   * A slot further away than that is checked again with one consistent read half a grace
   * BEFORE it, so the grant still happens on time — not one read's latency after its slot,
   * which would jitter the spacing of grants by the table's latency. Looks are shared by every
   * acquire of this process (one read in flight per provider), which keeps reads per grant well
   * below one when many deliveries run at once.
   */
  async #goAt(provider: string, at: number): Promise<boolean> {
    for (;;) {
      let seen = this.#looks.get(provider);
      if (covers(seen, at)) return false;
      if (seen !== undefined && at < seen.at + this.#graceMs) {
        await this.#sleepUntil(at);
        seen = this.#looks.get(provider);
        if (covers(seen, at)) return false;
        if (seen !== undefined && this.#clock() < seen.at + this.#graceMs) return true;
      } else {
        await this.#sleepUntil(at - this.#graceMs / 2);
        seen = this.#looks.get(provider);
        if (seen !== undefined && at < seen.at + this.#graceMs) continue; // another acquire looked meanwhile
      }
      await this.#looks.look(provider, at - this.#graceMs);
    }
  }

  /** Takes the next slot (see RateBucketTable.reserve) and returns the new tat. */
  async #reserve(provider: string, reservation: Reservation, sentAt: number): Promise<number> {
    const next = await this.#table.reserve(provider, reservation);
    if (next.tat === undefined) throw new Error(`rate limiter: bucket ${provider} has no tat after a write`);
    // The write's condition saw no new pause: as good a look as a read begun when we sent it.
    this.#looks.observe(provider, next, sentAt);
    return next.tat;
  }

  /** An unlimited provider writes at once, unless it was paused: at most one read, no write. */
  async #awaitPause(provider: string, deadline: number): Promise<void> {
    for (;;) {
      const now = this.#clock();
      const at = Math.max(now, this.#looks.get(provider)?.state.pausedUntilMs ?? -Infinity);
      if (at > Math.max(now, deadline)) throw this.#notBefore(provider, at - now, at);
      if (await this.#goAt(provider, at)) return;
    }
  }

  /** Sleeps until the clock reads `at` or later (timers may fire a millisecond early). */
  async #sleepUntil(at: number): Promise<void> {
    for (let remaining = at - this.#clock(); remaining > 0; remaining = at - this.#clock()) await this.#sleep(Math.ceil(remaining));
  }

  #resolve(provider: string): GcraLimit | undefined {
    const limit = this.#limits(provider);
    return limit === undefined ? undefined : gcraLimit(provider, limit);
  }

  /** "Not before": the slot or the pause's end is beyond maxWaitMs. Not a failure: the delivery is rescheduled. */
  #notBefore(provider: string, waitMs: number, pausedUntilMs: number | undefined): DeliveryError {
    const retryAfterMs = Math.max(1, Math.ceil(waitMs));
    const options = { retryable: true, retryAfterMs, deferred: true };
    if (pausedUntilMs !== undefined) {
      return new DeliveryError("paused", `${provider} is paused until ${new Date(pausedUntilMs).toISOString()} (a Retry-After): not before then, ${retryAfterMs} ms away`, options);
    }
    return new DeliveryError("throttled", `rate limit for ${provider}: the next write slot is ${retryAfterMs} ms away, beyond maxWaitMs (${this.#maxWaitMs} ms): not before then`, options);
  }
}
