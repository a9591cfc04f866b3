import type { Consumer, ConsumerDelivery, DeliveryRequest } from "./delivery.js";

export interface CurrentVersion {
  readonly registryId: string;
  readonly secretArn: string;
  readonly versionId: string;
  readonly createdAt: Date;
}

export interface PlanOptions {
  readonly now: Date;
  /** A pending delivery older than this lost its message (queues are best effort too): plan it again. */
  readonly stalePendingMs: number;
  /** Re-drive even consumers that hold this version or gave up on it (on-call's redeliver). */
  readonly force?: boolean;
}

/**
 * Which consumers are behind the current version and should get a delivery. A consumer that
 * gave up on this version (failed) is left to on-call's redeliver rather than retried every
 * reconcile; one on a newer version than "current" is never sent back.
 */
export function planDeliveries(current: CurrentVersion, consumers: readonly Consumer[], states: ReadonlyMap<string, ConsumerDelivery>, options: PlanOptions): DeliveryRequest[] {
  const request = (consumer: Consumer): DeliveryRequest => ({
    consumerId: consumer.id,
    registryId: current.registryId,
    secretArn: current.secretArn,
    versionId: current.versionId,
    versionCreatedAt: current.createdAt,
  });
  return consumers
    .filter((consumer) => {
      const state = states.get(consumer.id);
      if (!state) return true;
      if (state.versionCreatedAt.getTime() > current.createdAt.getTime()) return false;
      if (options.force === true) return true;
      if (state.deliveredVersionId === current.versionId) return false;
      if (state.versionId !== current.versionId) return true;
      if (state.state === "failed") return false;
      return options.now.getTime() - state.updatedAt.getTime() >= options.stalePendingMs;
    })
    .map(request);
}
