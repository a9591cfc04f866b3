import { type ConsumerDelivery, PullkeeperError } from "@pullkeeper/core";
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
