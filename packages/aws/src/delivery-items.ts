import type { ConsumerDelivery, DeliveryState } from "@pullkeeper/core";
import { date } from "./ledger-items.js";

/**
 * Consumer delivery records live in their registry's partition: REG#<registryId> / CONS#<consumerId>,
 * so one Query lists a registry's consumers. Version order is compared on the *CreatedAtMs numbers.
 * A `retrying` record carries `nextAttemptAt` (ISO) and its last cause in `lastError`; `failures`
 * counts this version's final failures (reconcile's backoff).
 */
export const deliveryKey = (registryId: string, consumerId: string) => ({ pk: `REG#${registryId}`, sk: `CONS#${consumerId}` });

type Item = Record<string, unknown>;

export function fromDeliveryItem(item: Item): ConsumerDelivery {
  const lastError = item.lastError as { code: string; message: string; at: string } | undefined;
  const deliveredAt = date(item.deliveredAt);
  return {
    consumerId: item.consumerId as string,
    registryId: item.registryId as string,
    state: item.state as DeliveryState,
    versionId: item.versionId as string,
    versionCreatedAt: new Date(item.versionCreatedAtMs as number),
    ...(typeof item.deliveredVersionId === "string" && { deliveredVersionId: item.deliveredVersionId }),
    ...(deliveredAt && { deliveredAt }),
    attempts: (item.attempts as number | undefined) ?? 0,
    ...(lastError && { lastError: { code: lastError.code, message: lastError.message, at: new Date(lastError.at) } }),
    ...(item.state === "retrying" && typeof item.nextAttemptAt === "string" && { nextAttemptAt: new Date(item.nextAttemptAt) }),
    ...(typeof item.failures === "number" && item.failures > 0 && { failures: item.failures }),
    updatedAt: date(item.updatedAt) as Date,
  };
}
