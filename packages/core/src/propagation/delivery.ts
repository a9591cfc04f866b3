import type { z } from "zod";
import { formatIssues } from "../model/validation.js";
import type { Credential } from "../model/credential.js";
import { PullkeeperError } from "../model/errors.js";
import type { Registry } from "../model/model.js";
import type { DiscoveredEnvironment, EnvironmentDiscovery, RestartOutcome } from "../audit/environments.js";
import type { Consumer } from "../model/consumer.js";

export type { Consumer } from "../model/consumer.js";

/** What one delivery is about: the value is read by VersionId at send time, never queued. */
export interface DeliveryRequest {
  readonly consumerId: string;
  readonly registryId: string;
  readonly secretArn: string;
  readonly versionId: string;
  /** When the version was created: orders versions, so an older one never overwrites a newer. */
  readonly versionCreatedAt: Date;
}

export interface DeliveryContext {
  readonly consumer: Consumer;
  readonly registry: Registry;
  readonly secretArn: string;
  readonly versionId: string;
  /** The credential of that version. Only targets that copy the value use it. */
  readonly credential: Credential;
  /**
   * The provider gate: call it before every request to the provider, the second and third write
   * of a delivery included (and before an internal retry). While any worker has the provider
   * paused it throws a retryable, deferred `paused` DeliveryError, so a pause also stops the
   * rest of a delivery already under way. Absent outside the engine (tools, target tests).
   */
  readonly beforeWrite?: () => Promise<void>;
  /**
   * The provider said "not before" (Retry-After, a rate-limit reset): pauses every worker on the
   * provider for `retryAfterMs`. Call it the moment such an answer arrives, before anything else
   * of the delivery writes; this process's gate closes synchronously, others' within the
   * limiter's grace. The engine also pauses for a throttled DeliveryError the target throws.
   */
  readonly pause?: (retryAfterMs: number) => Promise<void>;
}

export interface DeliveryOutcome {
  /** delivered: written; verified: written and read back or checked working. */
  readonly status: "delivered" | "verified";
  /** For people: what was checked or written. Never the value. */
  readonly detail: string;
}

/**
 * A delivery that did not happen. `code` is stable and classified (unauthorized, not_found,
 * wiring_*, throttled, paused, unavailable, timeout…); `retryable` tells the engine whether a
 * retry can mend it (throttling, 5xx, resets, timeouts) or not (bad config, not found, permission
 * denied, a value the provider rejects); `retryAfterMs` is the provider's own Retry-After, or the
 * rate limiter's "not before", honoured by every worker. `deferred`: the delivery was held back by
 * a provider pause or a far rate-limit slot before it wrote (or between its writes): it is
 * rescheduled for then, and does not count as a failed attempt.
 */
export class DeliveryError extends PullkeeperError {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly deferred: boolean;

  constructor(code: string, message: string, options: { retryable: boolean; retryAfterMs?: number; deferred?: boolean; cause?: unknown }) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.deferred = options.deferred === true;
  }
}

/**
 * One kind of consumer (ESO-style: one folder per provider behind this interface). Adding a
 * target is one implementation and one registration line.
 */
export interface DeliveryTarget extends Partial<EnvironmentDiscovery> {
  readonly kind: string;
  /** Validates a consumer's `target` block of this kind; issues are reported with their path in the config. */
  readonly schema: z.ZodType<{ kind: string }>;
  /** The rate-limit bucket this consumer's writes count against, e.g. "github" or "aws:codebuild:eu-west-1". */
  provider(consumer: Consumer): string | Promise<string>;
  /**
   * How many writes one delivery makes against that budget (default 1): the engine takes them
   * all at once, so a multi-write delivery goes out back to back and the budget counts writes.
   */
  writesPerDelivery?(consumer: Consumer): number;
  deliver(context: DeliveryContext): Promise<DeliveryOutcome>;
}

/**
 * pending: planned, its first attempt not finished; retrying: an attempt failed for a cause a
 * retry can mend (or the provider is paused) and the next one is due at `nextAttemptAt`;
 * delivered / verified: done; failed: failed for good (a cause no retry mends) — reconcile plans
 * it again with backoff (see failedRedriveAt), on-call can redeliver at once.
 */
export type DeliveryState = "pending" | "retrying" | "delivered" | "verified" | "failed";

export const DELIVERY_STATES: readonly DeliveryState[] = ["pending", "retrying", "delivered", "verified", "failed"];

/** The ledger's record of one consumer: what it holds and how the last attempt went. */
export interface ConsumerDelivery {
  readonly consumerId: string;
  readonly registryId: string;
  readonly state: DeliveryState;
  /** The newest version this consumer was asked to hold (pending/failed) or holds (delivered/verified). */
  readonly versionId: string;
  readonly versionCreatedAt: Date;
  /** The version it last held for sure; absent before the first success. */
  readonly deliveredVersionId?: string;
  readonly deliveredAt?: Date;
  /** Failed attempts of this version's current run (a rescheduling by a pause is not one). */
  readonly attempts: number;
  /** The last cause: classified code and a message without any value. */
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: Date };
  /** retrying: when the next attempt is due. */
  readonly nextAttemptAt?: Date;
  /** How often delivery of this version failed for good: reconcile's backoff doubles with it. */
  readonly failures?: number;
  readonly updatedAt: Date;
}

/** Shares provider write budgets across every worker, in every process. */
export interface RateLimiter {
  /**
   * Resolves when `writes` writes (default 1) to `provider` may go out now, back to back. When
   * they cannot within the limiter's wait budget — the provider is paused, or the next slot is
   * far — rejects at once with a retryable, deferred DeliveryError (`paused` / `throttled`) whose
   * retryAfterMs says "not before": the delivery is rescheduled, it has not failed.
   */
  acquire(provider: string, options?: { readonly writes?: number }): Promise<void>;
  /** The provider said "not before": nobody writes to it until then. */
  pause(provider: string, untilMs: number): Promise<void>;
  /** When the provider's pause ends (ms since the epoch), if it is paused now; else undefined. */
  pausedUntil(provider: string): Promise<number | undefined>;
}

/** Carries delivery requests to workers; never a credential value. */
export interface DeliveryQueue {
  /** `delayMs`: not before then (SQS caps a message's delay at 15 minutes). */
  send(requests: readonly DeliveryRequest[], options?: { readonly delayMs?: number }): Promise<void>;
  /**
   * A queue that keeps no message sent before this instant (an in-memory queue: its process's
   * start). A delivery recorded pending or retrying before it lost its message for certain, so the
   * next plan queues it again at once instead of after the stale-pending wait. SQS keeps its
   * messages and leaves this unset.
   */
  readonly holdsSince?: Date;
}

/** A consumer's `target` through its kind's schema, or an `invalid_target` DeliveryError that names every bad field. */
export function parseTargetConfig<S extends z.ZodType>(schema: S, consumer: Consumer): z.output<S> {
  const parsed = schema.safeParse(consumer.target);
  if (parsed.success) return parsed.data;
  throw new DeliveryError("invalid_target", `consumer ${consumer.id}: target is not valid: ${formatIssues(parsed.error).join("; ")}`, { retryable: false });
}

/**
 * The password field of a secret a target authenticates with (a token, a signing key), read at
 * send time. A missing or malformed secret is final; anything else is worth a retry.
 */
export async function readTargetSecret(read: (secretId: string) => Promise<Credential>, secretId: string, label: string): Promise<string> {
  let stored: Credential;
  try {
    stored = await read(secretId);
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    if (error instanceof PullkeeperError && (error.code === "not_found" || error.code === "invalid_credential")) {
      throw new DeliveryError(error.code, `${label} ${secretId}: ${error.message}`, { retryable: false });
    }
    throw new DeliveryError("unavailable", `${label} ${secretId} could not be read`, { retryable: true, cause: error });
  }
  return stored.password.reveal();
}

/** Restarts one environment through its consumer's target, or refuses (`restart_unsupported`) where the kind has no safe restart. */
export function restartThroughTarget(targets: ReadonlyMap<string, DeliveryTarget>, consumer: Consumer, environment: Pick<DiscoveredEnvironment, "externalId" | "kind" | "name">): Promise<RestartOutcome> {
  const target = targets.get(consumer.target.kind);
  if (!target?.restartEnvironment) {
    return Promise.reject(new DeliveryError("restart_unsupported", `consumer ${consumer.id}: ${consumer.target.kind} environments cannot be restarted by pullkeeper`, { retryable: false }));
  }
  return target.restartEnvironment(consumer, environment);
}
