import type { DeliveryResult } from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturingOutput, contractContext, expectNoValue, type TargetContractEntry, type TargetHarness } from "../contract/target-contract.js";
import { TARGET_ENTRIES } from "../contract/target-entries.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { type DynamoFaultProxy, dynamoFaultProxy } from "./dynamo-fault-proxy.js";
import { type DeliveryWorld, deliveryWorld } from "./delivery-world.js";
import { FAULT_ROWS, type FaultRow } from "./fault-table.js";
import { deliverWithinThreeRuns, expectClassified, expectHolds, expectNotDone, expectNothingOrCurrent } from "./flow-checks.js";

/**
 * Every target's provider failing in every way the fault table lists, met by the real delivery
 * flow (plan → queue → deliver, wiring.ts's engine over DynamoDB on dynalite, Secrets Manager,
 * SQS and EventBridge): the ledger records the attempt retrying or failed for good under a
 * classified code, marks nothing delivered, and the next run — the queued retry once it is due,
 * or reconcile once a failure's backoff is over — delivers, with the value nowhere in a log.
 * The rows come from the target contract's entries (test/contract/target-entries.ts).
 */

let dynamo: EmbeddedDynamo;
let proxy: DynamoFaultProxy;
beforeAll(async () => {
  dynamo = await startDynalite();
  proxy = await dynamoFaultProxy(dynamo.endpoint);
});
afterAll(async () => {
  await proxy.close();
  await dynamo.stop();
});

/** How a target kind's provider gives the row's fault; undefined: it cannot (AWS sends no Retry-After, an HTTP provider no ThrottlingException). */
const asTargetGives = (entry: TargetContractEntry, row: FaultRow) => (entry.noRetryAfter === true ? row.awsTarget : row.http);

/** Plans the registry's current version and returns its one queued delivery. */
async function planned(world: DeliveryWorld) {
  const plan = await world.service.propagate(world.registryId);
  expect(plan.requested).toBe(1);
  return world.queued.at(-1)!;
}

/** The next runs: the retry SQS holds once it is due, or, after a failure for good, reconcile once its backoff is over. */
async function nextRuns(world: DeliveryWorld, consumerId: string, retryable: boolean): Promise<DeliveryResult> {
  if (!retryable) {
    world.advance(2 * 3600_000);
    expect((await world.service.reconcile())[0]?.requested).toBe(1);
  }
  return deliverWithinThreeRuns(world, consumerId);
}

for (const entry of TARGET_ENTRIES) {
  describe(`faults: the ${entry.kind} target's provider`, () => {
    // One harness per kind: its first delivery loads the target's clients (Octokit, libsodium, the
    // Kubernetes client), done here so the short budgets time the wire, not a module load.
    let harness: TargetHarness;
    beforeAll(async () => {
      harness = await entry.start();
      await harness.target.deliver(contractContext(harness.consumer)).catch(() => undefined);
    }, 30_000);
    afterAll(async () => harness.close());

    for (const row of FAULT_ROWS) {
      it(`${row.name}: ${row.retryable ? "retrying" : "failed for good"} with a classified reason, nothing marked delivered, the next run delivers`, async (ctx) => {
        const fault = asTargetGives(entry, row);
        if (fault === undefined || harness.fail === undefined) return ctx.skip();
        const world = await deliveryWorld(dynamo, proxy, harness);
        const request = await planned(world);

        harness.fail(fault);
        const { settled, output } = await capturingOutput(() => world.service.deliver(request));
        expect(settled.error).toBeUndefined();
        const result = settled.value!;
        expect(result.outcome, JSON.stringify(result)).toBe(row.retryable ? "retrying" : "failed");
        const record = await world.ledger.consumerDelivery(world.registryId, harness.consumer.id);
        expect(record?.state).toBe(row.retryable ? "retrying" : "failed");
        expect(record?.versionId).toBe(world.versionId);
        expectClassified(record?.lastError?.code, row.retryable, "the ledger's reason");
        expectNotDone(record, "after the fault");
        await expectNothingOrCurrent(entry, world);
        expectNoValue(`${JSON.stringify(record)} ${output}`, "the record and the log");

        expect((await nextRuns(world, harness.consumer.id, row.retryable)).outcome).toBe("delivered");
        const done = await world.ledger.consumerDelivery(world.registryId, harness.consumer.id);
        expect(done).toMatchObject({ deliveredVersionId: world.versionId });
        expect(["delivered", "verified"]).toContain(done?.state);
        await expectHolds(entry, world);
        // A redelivered message changes nothing.
        expect(await world.service.deliver(world.queued.at(-1)!)).toEqual({ outcome: "skipped", reason: "duplicate" });
      });
    }
  });
}
