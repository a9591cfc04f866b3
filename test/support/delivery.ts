import { DeliveryError } from "@pullkeeper/core";
import { expect } from "vitest";

/** The DeliveryError a delivery rejected with; fails the test if it resolved or threw anything else. */
export async function deliveryFailure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}
