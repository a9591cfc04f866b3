import type { ConsumerDelivery } from "../propagation/delivery.js";
import type { DiscoveryRecord } from "../audit/environment-ledger.js";
import type { RevocationReason, RevokePolicy } from "../model/model.js";

/** What the decision knows of one consumer of the registry. */
export interface ConsumerHolding {
  readonly consumerId: string;
  readonly delivery?: ConsumerDelivery;
  /** The consumer's kind can list its running environments (the audit's discovery). */
  readonly discovers: boolean;
  /** Its last discovery, if any. */
  readonly discovery?: DiscoveryRecord;
  /** Environments the last scan found running on the previous version (or on an unknown one). */
  readonly environmentsOnPrevious: number;
}

export interface RevocationInput {
  readonly now: Date;
  readonly policy: RevokePolicy;
  readonly currentVersionId: string;
  /** When the current version took over: the overlap runs from here. */
  readonly currentSince: Date;
  readonly consumers: readonly ConsumerHolding[];
  /** Provider clocks vs ours, as the audit allows. */
  readonly clockSkewMs: number;
}

export type RevocationDecision =
  | { readonly action: "revoke"; readonly reason: RevocationReason; readonly detail: string }
  | { readonly action: "wait"; readonly reason: string; readonly overlapEndsAt: Date };

const holds = (d: ConsumerDelivery | undefined, versionId: string) => d !== undefined && d.deliveredVersionId === versionId && d.deliveredAt !== undefined;

/**
 * Whether the previous credential may go. It goes when every consumer holds the current one and,
 * for each consumer whose environments can be listed, a discovery that ran after that consumer
 * got it found nothing running on the previous one; or, whatever holds it, once the maximum
 * overlap has passed. A consumer kind that cannot list environments does not block: its delivery
 * is what counts, and the maximum overlap covers what cannot be seen.
 */
export function decideRevocation(input: RevocationInput): RevocationDecision {
  const overlapEndsAt = new Date(input.currentSince.getTime() + input.policy.afterSeconds * 1000);
  if (input.now.getTime() >= overlapEndsAt.getTime()) {
    return { action: "revoke", reason: "max-overlap", detail: `the maximum overlap of ${input.policy.afterSeconds} s since ${input.currentSince.toISOString()} has passed` };
  }
  const wait = (reason: string): RevocationDecision => ({ action: "wait", reason, overlapEndsAt });

  const behind = input.consumers.filter((c) => !holds(c.delivery, input.currentVersionId));
  if (behind.length > 0) {
    const names = behind.slice(0, 5).map((c) => `${c.consumerId} (${c.delivery?.state ?? "never delivered"})`);
    return wait(`${input.consumers.length - behind.length} of ${input.consumers.length} consumers hold the current version; waiting for ${names.join(", ")}${behind.length > 5 ? ` and ${behind.length - 5} more` : ""}`);
  }
  for (const c of input.consumers.filter((x) => x.discovers)) {
    const deliveredAt = (c.delivery?.deliveredAt as Date).getTime();
    if (!c.discovery) return wait(`no audit scan has looked at ${c.consumerId}'s environments yet`);
    if (!c.discovery.ok) return wait(`the last audit scan could not list ${c.consumerId}'s environments (${c.discovery.error?.code ?? "error"})`);
    if (c.discovery.at.getTime() < deliveredAt + input.clockSkewMs) return wait(`no audit scan of ${c.consumerId} since it got the current version (a scan counts from ${input.clockSkewMs / 1000} s after the delivery: settings.clockSkew)`);
    if (c.environmentsOnPrevious > 0) return wait(`${c.environmentsOnPrevious} running environment(s) of ${c.consumerId} still hold the previous version`);
  }
  const seen = input.consumers.filter((c) => c.discovers).length;
  return {
    action: "revoke",
    reason: "unused",
    detail: `${input.consumers.length === 1 ? "its one consumer holds" : `all ${input.consumers.length} consumers hold`} the current version; ${seen} scanned after delivery with nothing running on the previous one`,
  };
}
