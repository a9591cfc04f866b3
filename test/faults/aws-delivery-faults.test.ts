import type { DeliveryRequest } from "@pullkeeper/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { capturingOutput, contractContext, expectNoValue, type TargetContractEntry, type TargetHarness } from "../contract/target-contract.js";
import { TARGET_ENTRIES } from "../contract/target-entries.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { type DynamoFaultProxy, dynamoFaultProxy } from "./dynamo-fault-proxy.js";
import { type DeliveryWorld, deliveryWorld } from "./delivery-world.js";
import { type AwsService, dynamoWire, FAULT_ROWS, type FaultRow } from "./fault-table.js";
import { deliverWithinThreeRuns, expectClassified, expectClassifiedRejection, expectHolds, expectNotDone, expectNothingOrCurrent } from "./flow-checks.js";

/**
 * The AWS services the delivery flow uses, each failing in every way the fault table lists while
 * the flow meets it: Secrets Manager as a delivery reads the version, DynamoDB's reads and writes
 * as a delivery records itself, SQS and EventBridge as a plan queues and announces. Whatever
 * fails, the ledger never says delivered for what was not, the failure carries a classified code,
 * and the next run, with the fault gone, delivers. One consumer, behind the webhook target.
 */

const WRITES = ["PutItem", "UpdateItem"];
const READS = ["GetItem", "Query"];

interface World extends DeliveryWorld {
  readonly proxy: DynamoFaultProxy;
  readonly entry: TargetContractEntry;
  readonly consumerId: string;
}

/** One AWS dependency of the delivery flow: when its fault is armed, and what the flow must have done about it. */
interface Dependency {
  readonly name: string;
  readonly service: AwsService;
  /** Arms the row's fault (false: the service cannot give it). */
  arm(world: World, row: FaultRow): boolean;
  clear(world: World): void;
  /** Runs the flow into the fault, checks what it left, and runs the next run once the fault is gone. */
  run(world: World, row: FaultRow): Promise<void>;
}

const record = (w: World) => w.ledger.consumerDelivery(w.registryId, w.consumerId);

async function plan(w: World): Promise<DeliveryRequest> {
  expect((await w.service.propagate(w.registryId)).requested).toBe(1);
  return w.queued.at(-1)!;
}

/** The next run delivers, once, and the ledger says so. */
async function recovers(w: World, request: DeliveryRequest): Promise<void> {
  expect(w.queued.at(-1)).toEqual(request);
  expect((await deliverWithinThreeRuns(w, w.consumerId)).outcome).toBe("delivered");
  expect(await record(w)).toMatchObject({ deliveredVersionId: w.versionId, state: "delivered" });
  await expectHolds(w.entry, w);
  expect(await w.service.deliver(request)).toEqual({ outcome: "skipped", reason: "duplicate" });
}

/** A delivery whose bookkeeping fails rejects (SQS redelivers the message): nothing is marked delivered. */
async function bookkeepingFails(w: World, row: FaultRow, dependency: Dependency, before: (w: World) => Promise<void> = async () => undefined): Promise<void> {
  const request = await plan(w);
  await before(w);
  dependency.arm(w, row);
  const { settled, output } = await capturingOutput(() => w.service.deliver(request));
  dependency.clear(w);
  expectClassifiedRejection(settled.error, row.retryable, `the delivery over ${dependency.name}'s ${row.name}`);
  const left = await record(w);
  expectNotDone(left, `after ${dependency.name}'s ${row.name}`);
  // Nor failed, nor retrying: the provider did nothing wrong, and the redelivered message finishes it.
  expect(left?.state, `after ${dependency.name}'s ${row.name}`).toBe("pending");
  await expectNothingOrCurrent(w.entry, w);
  expectNoValue(output, "the log");
  await recovers(w, request);
}

const dynamo = (name: string, operations: readonly string[]): Dependency => {
  const dependency: Dependency = {
    name,
    service: "dynamodb",
    arm: (w, row) => {
      const fault = dynamoWire(row);
      if (fault !== undefined) w.proxy.arm(fault, operations);
      return fault !== undefined;
    },
    clear: (w) => w.proxy.clear(),
    run: (w, row) => bookkeepingFails(w, row, dependency),
  };
  return dependency;
};

const DEPENDENCIES: readonly Dependency[] = [
  {
    name: "Secrets Manager (GetSecretValue of the version)",
    service: "secrets-manager",
    arm: (w, row) => row.aws !== undefined && (w.faults.secretsManager.arm(() => row.aws!("secrets-manager"), (c) => c === "GetSecretValue"), true),
    clear: (w) => w.faults.secretsManager.clear(),
    async run(w, row) {
      const request = await plan(w);
      this.arm(w, row);
      const result = await w.service.deliver(request);
      this.clear(w);
      expect(result.outcome).toBe(row.retryable ? "retrying" : "failed");
      const failed = await record(w);
      expect(failed?.state).toBe(row.retryable ? "retrying" : "failed");
      expectClassified(failed?.lastError?.code, row.retryable, "the ledger's reason");
      expectNotDone(failed, "after the vault's fault");
      expect(await w.harness.held()).toBeUndefined();
      w.advance(row.retryable ? failed!.nextAttemptAt!.getTime() - Date.now() + 1_000 : 2 * 3600_000);
      if (!row.retryable) expect((await w.service.reconcile())[0]?.requested).toBe(1);
      await recovers(w, w.queued.at(-1)!);
    },
  },
  dynamo("DynamoDB reads (GetItem, Query)", READS),
  dynamo("DynamoDB writes (PutItem, UpdateItem)", WRITES),
  // The history entry after the consumer's write fails while the record could still be written.
  dynamo("DynamoDB PutItem (the history entry)", ["PutItem"]),
  {
    name: "SQS (SendMessageBatch of a plan)",
    service: "sqs",
    arm: (w, row) => row.aws !== undefined && (w.faults.sqs.arm(() => row.aws!("sqs")), true),
    clear: (w) => w.faults.sqs.clear(),
    async run(w, row) {
      this.arm(w, row);
      const planning = await w.service.propagate(w.registryId).then(() => undefined, (e: unknown) => e);
      this.clear(w);
      expectClassifiedRejection(planning, row.retryable, `the plan over SQS's ${row.name}`);
      // The SDK client retried already: the queue adds no retries of its own on top of them.
      expect(w.faults.sqs.failed).toEqual(["SendMessageBatch"]);
      expectNotDone(await record(w), "after SQS's fault");
      expect(await w.harness.held()).toBeUndefined();
      // A pending record whose message was lost: reconcile plans it again once it is stale.
      w.advance(16 * 60_000);
      expect((await w.service.reconcile())[0]?.requested).toBe(1);
      await recovers(w, w.queued.at(-1)!);
    },
  },
  {
    name: "EventBridge (PutEvents of a plan)",
    service: "eventbridge",
    arm: (w, row) => row.aws !== undefined && (w.faults.eventBridge.arm(() => row.aws!("eventbridge")), true),
    clear: (w) => w.faults.eventBridge.clear(),
    async run(w, row) {
      this.arm(w, row);
      const planning = await w.service.propagate(w.registryId).then(() => undefined, (e: unknown) => e);
      this.clear(w);
      // The deliveries are queued before they are announced: an announcement lost loses no delivery.
      if (planning !== undefined) expectClassifiedRejection(planning, row.retryable, `the plan over EventBridge's ${row.name}`);
      expect(w.faults.eventBridge.failed).toEqual(["PutEvents"]);
      expect(w.queued).toHaveLength(1);
      expectNotDone(await record(w), "after EventBridge's fault");
      await recovers(w, w.queued[0]!);
    },
  },
  {
    name: "EventBridge (PutEvents of a failure for good)",
    service: "eventbridge",
    arm: (w, row) => row.aws !== undefined && (w.faults.eventBridge.arm(() => row.aws!("eventbridge"), () => true), true),
    clear: (w) => w.faults.eventBridge.clear(),
    async run(w, row) {
      const request = await plan(w);
      // The consumer's provider refuses for good, and the failure's announcement fails.
      w.harness.fail!({ kind: "status", status: 403 });
      this.arm(w, row);
      const first = await w.service.deliver(request).then(() => undefined, (e: unknown) => e);
      this.clear(w);
      expectClassifiedRejection(first, row.retryable, `the failure's announcement over EventBridge's ${row.name}`);
      // SQS redelivers the message; the provider still refuses: the failure is recorded and announced, once.
      w.harness.fail!({ kind: "status", status: 403 });
      expect(await w.service.deliver(request)).toMatchObject({ outcome: "failed", code: "unauthorized" });
      expect(w.published.filter((t) => t === "Delivery Failed"), "the failure for good was never announced").toHaveLength(1);
      expect(await record(w)).toMatchObject({ state: "failed", versionId: w.versionId });
      expect(await w.harness.held()).toBeUndefined();
    },
  },
];

const webhook = TARGET_ENTRIES.find((e) => e.kind === "webhook")!;

let embedded: EmbeddedDynamo;
let proxy: DynamoFaultProxy;
beforeAll(async () => {
  embedded = await startDynalite();
  proxy = await dynamoFaultProxy(embedded.endpoint);
  // The target's first delivery loads its client: done here, so the harness's short budget times the wire.
  const warm = await webhook.start();
  await warm.target.deliver(contractContext(warm.consumer)).catch(() => undefined);
  await warm.close();
}, 30_000);
afterAll(async () => {
  await proxy.close();
  await embedded.stop();
});

for (const dependency of DEPENDENCIES) {
  describe(`faults: ${dependency.name}, in the delivery flow`, () => {
    let harness: TargetHarness | undefined;
    afterEach(async () => {
      proxy.clear();
      await harness?.close();
      harness = undefined;
    });

    for (const row of FAULT_ROWS) {
      it(`${row.name}: classified, nothing marked delivered, the next run delivers`, async (ctx) => {
        if (row.aws === undefined) return ctx.skip(); // AWS sends no Retry-After
        harness = await webhook.start();
        const world: World = { ...(await deliveryWorld(embedded, proxy, harness)), proxy, entry: webhook, consumerId: harness.consumer.id };
        await dependency.run(world, row);
      });
    }
  });
}
