import { InvalidInputError } from "../model/errors.js";

/**
 * GCRA (the generic cell rate algorithm, "theoretical arrival time") as plain arithmetic: the
 * exact equivalent of a token bucket of `burst` tokens refilled at `perSecond`, kept as ONE
 * number per provider instead of (tokens, lastRefill, version). With T = 1000 / perSecond and
 * τ = (burst - 1) · T, a write may go out at g = max(now, tat - τ) and moves tat to
 * max(tat, now) + T. Where the bucket lives and who may move it is the rate limiter's business.
 */

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

/** A RateLimit in GCRA's terms. */
export interface GcraLimit {
  /** Emission interval T: ms between two writes at the steady rate. */
  readonly interval: number;
  /** Burst tolerance τ = (burst - 1) · T. */
  readonly tolerance: number;
}

export interface BucketState {
  /** GCRA's theoretical arrival time, ms since the epoch; absent before the first write. */
  readonly tat: number | undefined;
  /** The latest "not before" any worker was told; only ever grows. */
  readonly pausedUntilMs: number | undefined;
}

/** Checks `limit` and turns it into T and τ. */
export function gcraLimit(provider: string, limit: RateLimit): GcraLimit {
  const { perSecond } = limit;
  const burst = limit.burst ?? Math.max(1, perSecond);
  if (!(Number.isFinite(perSecond) && perSecond > 0)) throw new InvalidInputError(`rate limit for ${provider}: perSecond must be a positive number`);
  if (!(Number.isFinite(burst) && burst >= 1)) throw new InvalidInputError(`rate limit for ${provider}: burst must be a number ≥ 1`);
  const interval = 1000 / perSecond;
  return { interval, tolerance: (burst - 1) * interval };
}

/**
 * The next slot as of `now`, given what was seen of the bucket. A pause empties the bucket at its
 * end, so the bucket's tat counts as at least `floor`; `queued` says tat is already past it (the
 * bucket is busy), which decides how tat may be moved.
 */
export function gcraSlot(state: BucketState, now: number, limit: GcraLimit): { readonly floor: number; readonly queued: boolean; readonly slot: number } {
  const floor = Math.max(now, state.pausedUntilMs === undefined ? -Infinity : state.pausedUntilMs + limit.tolerance);
  const queued = state.tat !== undefined && state.tat >= floor;
  const slot = Math.max(now, Math.max(state.tat ?? -Infinity, floor) - limit.tolerance);
  return { floor, queued, slot };
}

/** When the `writes` reserved by moving tat to `tat` may go out (no earlier than `now`). */
export function gcraGrantAt(tat: number, writes: number, limit: GcraLimit, now: number): number {
  return Math.max(now, tat - writes * limit.interval - limit.tolerance);
}

/** Both numbers of a bucket only ever grow, so the freshest state is the max of what was seen. */
export function mergeBucketState(old: BucketState | undefined, next: BucketState): BucketState {
  return { tat: maxOf(old?.tat, next.tat), pausedUntilMs: maxOf(old?.pausedUntilMs, next.pausedUntilMs) };
}

const maxOf = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

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
