import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DeliveryError, InvalidInputError, type RateLimiter } from "@pullkeeper/core";
import { clientOptions } from "./clients.js";
import { classifyAwsError } from "./errors.js";

/**
 * A provider's write budget: `perSecond` steady writes, and up to `burst` at once after an idle
 * spell (default max(1, perSecond): one second's worth, like AWS's own API token buckets; at
 * least 1, or no write could ever go). The long-run rate is exact for any burst, since slots
 * are reserved in the table rather than polled for. A provider that counts a strict sliding
 * window should get `burst: 1`.
 */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst?: number;
}

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

/** The bucket's item in the ledger table: one per provider. */
export const rateKey = (provider: string) => ({ pk: `RATE#${provider}`, sk: "BUCKET" });

const DEFAULT_MAX_WAIT_MS = 60_000;
const DEFAULT_PAUSE_GRACE_MS = 50;

interface BucketState {
  /** GCRA's theoretical arrival time, ms since the epoch; absent before the first write. */
  readonly tat: number | undefined;
  /** The latest "not before" any worker was told; only ever grows. */
  readonly pausedUntilMs: number | undefined;
}

/** What a request saw of the bucket, and when that request began (by our clock). */
interface Observation {
  readonly state: BucketState;
  readonly at: number;
}

interface Resolved {
  /** Emission interval T: ms between two writes at the steady rate. */
  readonly interval: number;
  /** Burst tolerance τ = (burst - 1) · T. */
  readonly tolerance: number;
}

const maxOf = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
const covers = (seen: Observation | undefined, at: number) => seen?.state.pausedUntilMs !== undefined && seen.state.pausedUntilMs > at;

const isConditionFailed = (error: unknown) => (error as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";

/**
 * Per-provider rate limits shared by every process that uses the same table (several Lambda
 * invocations at once count against one budget, not one each).
 *
 * Algorithm: GCRA (the generic cell rate algorithm, "theoretical arrival time"), the exact
 * equivalent of a token bucket of `burst` tokens refilled at `perSecond`, kept as ONE number
 * per provider instead of (tokens, lastRefill, version). With T = 1000 / perSecond and
 * τ = (burst - 1) · T, a write may go out at g = max(now, tat - τ) and moves tat to
 * max(tat, now) + T.
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
 * Process-local fast path, which keeps the cross-process guarantee: what any acquire of this
 * process last saw of a bucket (from its reads and from its own writes' new values) is shared
 * by all of them and used to pick the write, so the usual acquire is one UpdateItem and no
 * read; at most one read per provider is in flight, shared too. It is only a hint: everything
 * that matters is in the write's condition, which DynamoDB checks on the item itself.
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
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #limits: (provider: string) => RateLimit | undefined;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #maxWaitMs: number;
  readonly #graceMs: number;
  /** Per provider, the freshest look at its bucket by any acquire of this process. */
  readonly #seen = new Map<string, Observation>();
  /** Per provider, the read in flight, shared by every acquire that can use it. */
  readonly #reading = new Map<string, { readonly at: number; readonly done: Promise<void> }>();
  /** A decaying maximum of the reservation write's latency, in ms. */
  #latency = 0;

  constructor(options: DynamoRateLimiterOptions) {
    this.#table = options.tableName;
    this.#doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient(clientOptions()), {
      marshallOptions: { removeUndefinedValues: true },
    });
    const limits = options.limits;
    this.#limits = typeof limits === "function" ? limits : (provider) => (Object.hasOwn(limits, provider) ? limits[provider] : undefined);
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.#graceMs = options.pauseGraceMs ?? DEFAULT_PAUSE_GRACE_MS;
    if (!(this.#maxWaitMs >= 0)) throw new InvalidInputError("maxWaitMs must be a number ≥ 0");
    if (!(this.#graceMs > 0 && Number.isFinite(this.#graceMs))) throw new InvalidInputError("pauseGraceMs must be a positive number");
  }

  async acquire(provider: string, options: { readonly writes?: number } = {}): Promise<void> {
    const writes = options.writes ?? 1;
    if (!(Number.isInteger(writes) && writes >= 1)) throw new InvalidInputError("acquire: writes must be an integer ≥ 1");
    const limit = this.#resolve(provider);
    const deadline = this.#clock() + this.#maxWaitMs;
    if (limit === undefined) return this.#awaitPause(provider, deadline);

    if (!this.#seen.has(provider)) await this.#look(provider, -Infinity);
    // After a failed write, the other shape is tried once before reading again (see #reserve).
    let flip: "queued" | "room" | undefined;
    let conflicts = 0;
    for (;;) {
      const state = this.#seen.get(provider)?.state ?? { tat: undefined, pausedUntilMs: undefined };
      const checkedAt = this.#clock();
      // Plan for when our write will have returned, which is when the caller gets its grant.
      const now = checkedAt + this.#latency;
      // A pause empties the bucket at its end: the bucket's tat counts as at least floor.
      const floor = Math.max(now, state.pausedUntilMs === undefined ? -Infinity : state.pausedUntilMs + limit.tolerance);
      const queued = flip === undefined ? state.tat !== undefined && state.tat >= floor : flip === "queued";
      const slot = Math.max(now, Math.max(state.tat ?? -Infinity, floor) - limit.tolerance);
      const latest = Math.max(now, deadline);
      if (slot > latest) throw this.#notBefore(provider, slot - now, state.pausedUntilMs !== undefined && state.pausedUntilMs > now ? state.pausedUntilMs : undefined);

      let reserved: number;
      try {
        reserved = await this.#reserve(provider, queued, floor, state.pausedUntilMs, limit, writes, latest, checkedAt);
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
        await this.#look(provider, this.#clock());
        continue;
      }
      if (await this.#goAt(provider, Math.max(now, reserved - writes * limit.interval - limit.tolerance))) return;
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
    this.#observe(provider, { tat: undefined, pausedUntilMs: untilMs }, -Infinity);
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: rateKey(provider),
          UpdateExpression: "SET pausedUntilMs = :until",
          ConditionExpression: "attribute_not_exists(pausedUntilMs) OR pausedUntilMs < :until",
          ExpressionAttributeValues: { ":until": untilMs },
        }),
      );
    } catch (error) {
      // A later pause is already there: it wins.
      if (!isConditionFailed(error)) throw classifyAwsError(error, "rate limiter UpdateItem");
    }
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
      const seen = this.#seen.get(provider);
      const until = seen?.state.pausedUntilMs;
      if (until !== undefined && until > now) return until;
      if (seen !== undefined && now < seen.at + this.#graceMs) return undefined;
      await this.#look(provider, now - 1);
      const after = this.#seen.get(provider);
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
      let seen = this.#seen.get(provider);
      if (covers(seen, at)) return false;
      if (seen !== undefined && at < seen.at + this.#graceMs) {
        await this.#sleepUntil(at);
        seen = this.#seen.get(provider);
        if (covers(seen, at)) return false;
        if (seen !== undefined && this.#clock() < seen.at + this.#graceMs) return true;
      } else {
        await this.#sleepUntil(at - this.#graceMs / 2);
        seen = this.#seen.get(provider);
        if (seen !== undefined && at < seen.at + this.#graceMs) continue; // another acquire looked meanwhile
      }
      await this.#look(provider, at - this.#graceMs);
    }
  }

  /**
   * Takes the next slot with one conditional write and returns the new tat. GCRA moves tat to
   * max(tat, floor) + T; an update expression cannot compute a max, so there are two shapes,
   * each guarded by the condition that makes it right:
   *  - queued (tat ≥ floor): atomic `tat = tat + T`. Concurrent increments never conflict with
   *    each other, which is what keeps N busy workers free of compare-and-swap retries. Also
   *    bounded so that the slot stays within the deadline.
   *  - room (tat ≤ floor): `tat = floor + T`, still right if tat moved but stayed ≤ floor.
   * Both also require that no new pause arrived since `pausedSeen` was read. When one fails on
   * tat, the other holds: the caller tries it before reading again.
   */
  async #reserve(
    provider: string,
    queued: boolean,
    floor: number,
    pausedSeen: number | undefined,
    limit: Resolved,
    writes: number,
    latestSlot: number,
    sentAt: number,
  ): Promise<number> {
    const pauseUnchanged = pausedSeen === undefined ? "attribute_not_exists(pausedUntilMs)" : "pausedUntilMs = :paused";
    const out = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: rateKey(provider),
        ...(queued
          ? {
              UpdateExpression: "SET tat = tat + :interval",
              // granted = (tat + T) - T - τ ≤ latestSlot
              ConditionExpression: `tat BETWEEN :floor AND :latest AND ${pauseUnchanged}`,
              ExpressionAttributeValues: {
                ":interval": writes * limit.interval,
                ":floor": floor,
                ":latest": Math.max(floor, latestSlot + limit.tolerance),
                ...(pausedSeen !== undefined && { ":paused": pausedSeen }),
              },
            }
          : {
              UpdateExpression: "SET tat = :next",
              ConditionExpression: `(attribute_not_exists(tat) OR tat <= :floor) AND ${pauseUnchanged}`,
              ExpressionAttributeValues: {
                ":next": floor + writes * limit.interval,
                ":floor": floor,
                ...(pausedSeen !== undefined && { ":paused": pausedSeen }),
              },
            }),
        ReturnValues: "ALL_NEW",
      }),
    );
    const next = toState(out.Attributes);
    if (next.tat === undefined) throw new Error(`rate limiter: bucket ${provider} has no tat after a write`);
    // The write's condition saw no new pause: as good a look as a read begun when we sent it.
    this.#observe(provider, next, sentAt);
    return next.tat;
  }

  /** An unlimited provider writes at once, unless it was paused: at most one read, no write. */
  async #awaitPause(provider: string, deadline: number): Promise<void> {
    for (;;) {
      const now = this.#clock();
      const at = Math.max(now, this.#seen.get(provider)?.state.pausedUntilMs ?? -Infinity);
      if (at > Math.max(now, deadline)) throw this.#notBefore(provider, at - now, at);
      if (await this.#goAt(provider, at)) return;
    }
  }

  /** Resolves once #seen holds a look begun after `after`: the read in flight if it began late enough, else a new one. */
  async #look(provider: string, after: number): Promise<void> {
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
      const out = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: rateKey(provider), ConsistentRead: true }));
      this.#observe(provider, toState(out.Item), at);
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

  /** Both numbers only ever grow, so the freshest look is the max of what was seen. */
  #observe(provider: string, state: BucketState, at: number): void {
    const old = this.#seen.get(provider);
    this.#seen.set(provider, {
      state: { tat: maxOf(old?.state.tat, state.tat), pausedUntilMs: maxOf(old?.state.pausedUntilMs, state.pausedUntilMs) },
      at: Math.max(old?.at ?? -Infinity, at),
    });
  }

  /** Sleeps until the clock reads `at` or later (timers may fire a millisecond early). */
  async #sleepUntil(at: number): Promise<void> {
    for (let remaining = at - this.#clock(); remaining > 0; remaining = at - this.#clock()) await this.#sleep(Math.ceil(remaining));
  }

  #resolve(provider: string): Resolved | undefined {
    const limit = this.#limits(provider);
    if (limit === undefined) return undefined;
    const { perSecond } = limit;
    const burst = limit.burst ?? Math.max(1, perSecond);
    if (!(Number.isFinite(perSecond) && perSecond > 0)) throw new InvalidInputError(`rate limit for ${provider}: perSecond must be a positive number`);
    if (!(Number.isFinite(burst) && burst >= 1)) throw new InvalidInputError(`rate limit for ${provider}: burst must be a number ≥ 1`);
    const interval = 1000 / perSecond;
    return { interval, tolerance: (burst - 1) * interval };
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

function toState(item: Record<string, unknown> | undefined): BucketState {
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  return { tat: num(item?.tat), pausedUntilMs: num(item?.pausedUntilMs) };
}

/**
 * The most grants that fall in any window of `windowMs` (half-open, [t, t + windowMs)), for
 * checking a rate limit from grant timestamps (tests, bench).
 */
export function measureRate(grants: readonly number[], windowMs = 1000): { maxInWindow: number; count: number; spanMs: number } {
  const sorted = [...grants].sort((a, b) => a - b);
  let maxInWindow = 0;
  for (let start = 0, end = 0; start < sorted.length; start++) {
    const from = sorted[start] as number;
    while (end < sorted.length && (sorted[end] as number) < from + windowMs) end++;
    maxInWindow = Math.max(maxInWindow, end - start);
  }
  const spanMs = sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number) - (sorted[0] as number);
  return { maxInWindow, count: sorted.length, spanMs };
}
