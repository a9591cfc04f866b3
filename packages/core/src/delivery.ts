import type { z } from "zod";
import { formatIssues } from "./validation.js";
import type { Credential } from "./credential.js";
import { PullkeeperError } from "./errors.js";
import type { Registry } from "./model.js";
import type { DiscoveredEnvironment, EnvironmentDiscovery, RestartOutcome } from "./environments.js";

/**
 * Where a registry's credential must live (a subscription). `target` is kind-specific and
 * validated by that kind's schema (consumer-targets.ts).
 */
export interface Consumer {
  readonly id: string;
  readonly registryId: string;
  /** Opt-in: POST /v1/environments/{id}/restart may stop or roll this consumer's stale environments. */
  readonly restart?: boolean;
  readonly target: { readonly kind: string } & Readonly<Record<string, unknown>>;
}

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
}

export interface DeliveryOutcome {
  /** delivered: written; verified: written and read back or checked working. */
  readonly status: "delivered" | "verified";
  /** For people: what was checked or written. Never the value. */
  readonly detail: string;
}

/**
 * A delivery that did not happen. `code` is stable and classified (unauthorized, not_found,
 * wiring_*, throttled, unavailable, timeout…); `retryable` tells the engine whether to try again;
 * `retryAfterMs` is the provider's own Retry-After, honoured by every worker.
 */
export class DeliveryError extends PullkeeperError {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options: { retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
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
  deliver(context: DeliveryContext): Promise<DeliveryOutcome>;
}

export type DeliveryState = "pending" | "delivered" | "verified" | "failed";

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
  readonly attempts: number;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: Date };
  readonly updatedAt: Date;
}

/** Shares provider write budgets across every worker, in every process. */
export interface RateLimiter {
  /** Resolves when one write to `provider` may go out now. */
  acquire(provider: string): Promise<void>;
  /** The provider said "not before": nobody writes to it until then. */
  pause(provider: string, untilMs: number): Promise<void>;
}

/** Carries delivery requests to workers; never a credential value. */
export interface DeliveryQueue {
  send(requests: readonly DeliveryRequest[]): Promise<void>;
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
