import { type ConsumerDelivery, type DeliveryResult, PullkeeperError } from "@pullkeeper/core";
import { expect } from "vitest";
import { CONTRACT_PASSWORD, expectNoValue, type TargetContractEntry, visibleText } from "../contract/target-contract.js";
import type { DeliveryWorld } from "./delivery-world.js";

/** What the faults suite asserts of a run, whichever dependency failed in it. */

/** Codes a failure may be recorded under: each names its cause; "error" (unclassified) is none of them. */
export const CLASSIFIED = {
  retryable: ["throttled", "unavailable", "timeout", "aws_error", "paused"],
  final: ["unauthorized", "forbidden", "access_denied"],
} as const;

export function expectClassified(code: string | undefined, retryable: boolean, what: string): void {
  expect(retryable ? CLASSIFIED.retryable : CLASSIFIED.final, `${what}: code ${code}`).toContain(code);
}

/** A rejection by the engine's own bookkeeping: a PullkeeperError with a stable code, retryable as the fault is. */
export function expectClassifiedRejection(error: unknown, retryable: boolean, what: string): void {
  expect(error, `${what} resolved`).toBeInstanceOf(PullkeeperError);
  const e = error as PullkeeperError & { retryable?: boolean };
  expectClassified(e.code, retryable, `${what} (${e.message})`);
  expect(e.retryable === true, `${what}: retryable of ${e.message}`).toBe(retryable);
  expectNoValue(visibleText(e), what);
}

/** The consumer holds the credential (its value, or the version it was told of). */
export async function expectHolds(entry: TargetContractEntry, world: DeliveryWorld): Promise<void> {
  const held = (await world.harness.held()) ?? "";
  if (entry.carries === "secretArn") return; // the consumer reads the secret itself: nothing is copied to it
  expect(held, "the consumer does not hold the current credential").toContain(entry.carries === "password" ? CONTRACT_PASSWORD : world.versionId);
}

/** Nothing reached the consumer (the fault came before the write), or what did is the current version: never another value. */
export async function expectNothingOrCurrent(entry: TargetContractEntry, world: DeliveryWorld): Promise<void> {
  const held = await world.harness.held();
  if (held === undefined || entry.carries === "secretArn") return;
  expect(held, "the consumer holds something other than the current version").toContain(entry.carries === "password" ? CONTRACT_PASSWORD : world.versionId);
}

/** Nothing marked done: no delivered version, no delivered state. */
export function expectNotDone(record: ConsumerDelivery | undefined, what: string): void {
  expect(record?.deliveredVersionId, `${what}: marked delivered`).toBeUndefined();
  expect(["delivered", "verified"], `${what}: state ${record?.state}`).not.toContain(record?.state);
}

/**
 * Delivers the last queued message until it lands, at most three runs, each one due (the clock
 * moved to a retry's next attempt): the target harnesses' 300 ms budget (for the hang) can time
 * out a healthy answer on a loaded machine, and such a run must itself be a classified retry.
 */
export async function deliverWithinThreeRuns(world: DeliveryWorld, consumerId: string): Promise<DeliveryResult> {
  let result: DeliveryResult | undefined;
  for (let run = 0; run < 3 && result?.outcome !== "delivered"; run += 1) {
    const record = await world.ledger.consumerDelivery(world.registryId, consumerId);
    if (record?.state === "retrying") world.advance(record.nextAttemptAt!.getTime() - Date.now() + 1_000);
    result = await world.service.deliver(world.queued.at(-1)!);
    if (result.outcome !== "delivered") expect(result.outcome, JSON.stringify(result)).toBe("retrying");
  }
  return result!;
}
