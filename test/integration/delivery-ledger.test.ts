import { DynamoLedger } from "@pullkeeper/aws";
import type { DeliveryRequest } from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";

let dynamo: EmbeddedDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 12, minute));
const request = (versionId: string, minute: number, consumerId = "c1"): DeliveryRequest => ({
  consumerId, registryId: "r", secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf", versionId, versionCreatedAt: at(minute),
});

describe("DynamoLedger consumer deliveries on dynalite", () => {
  it("goes pending → delivered, counting attempts and clearing the last error", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    expect(await ledger.markPending(request("v1", 0), at(1))).toBe("pending");
    expect(await ledger.recordAttemptFailed(request("v1", 0), { code: "unavailable", message: "503" }, false, at(2))).toBe("recorded");
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "pending", attempts: 1, lastError: { code: "unavailable" } });
    expect(await ledger.recordDelivered(request("v1", 0), { status: "verified", detail: "ok" }, at(3))).toBe("recorded");
    const state = await ledger.consumerDelivery("r", "c1");
    expect(state).toMatchObject({ state: "verified", versionId: "v1", deliveredVersionId: "v1", attempts: 2 });
    expect(state?.lastError).toBeUndefined();
    expect(state?.deliveredAt?.toISOString()).toBe(at(3).toISOString());
  });

  it("never lets an older version's late delivery or request overwrite a newer one", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    await ledger.markPending(request("v1", 0), at(1));
    expect(await ledger.markPending(request("v2", 10), at(11))).toBe("pending");
    expect(await ledger.markPending(request("v1", 0), at(12))).toBe("superseded");
    expect(await ledger.markPending(request("v2", 10), at(12))).toBe("already");
    expect(await ledger.recordDelivered(request("v1", 0), { status: "delivered", detail: "late" }, at(13))).toBe("superseded");
    expect(await ledger.recordAttemptFailed(request("v1", 0), { code: "timeout", message: "late" }, true, at(13))).toBe("superseded");
    expect(await ledger.recordDelivered(request("v2", 10), { status: "delivered", detail: "ok" }, at(14))).toBe("recorded");
    expect(await ledger.recordDelivered(request("v1", 0), { status: "delivered", detail: "later still" }, at(15))).toBe("superseded");
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "delivered", versionId: "v2", deliveredVersionId: "v2" });
  });

  it("marks a final failure failed and lists a registry's consumers in pages", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    for (const id of ["a", "b", "c"]) await ledger.markPending(request("v1", 0, id), at(1));
    await ledger.recordAttemptFailed(request("v1", 0, "b"), { code: "unauthorized", message: "401" }, true, at(2));
    const first = await ledger.consumerDeliveries("r", { limit: 2 });
    expect(first.items.map((d) => d.consumerId)).toEqual(["a", "b"]);
    expect(first.items[1]).toMatchObject({ state: "failed", lastError: { code: "unauthorized" } });
    const rest = await ledger.consumerDeliveries("r", { limit: 2, ...(first.cursor !== undefined && { cursor: first.cursor }) });
    expect(rest.items.map((d) => d.consumerId)).toEqual(["c"]);
    expect((await ledger.history("r")).items).toEqual([]);
  });

  it("a new version created at the same instant as the recorded one (another VersionId) is not older: it is marked pending (defect 7)", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    await ledger.markPending(request("v1", 0), at(1));
    await ledger.recordDelivered(request("v1", 0), { status: "delivered", detail: "ok" }, at(2));
    // Secrets Manager's CreatedDate has limited precision: v2 was created in the same millisecond.
    expect(await ledger.markPending(request("v2", 0), at(3))).toBe("pending");
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "pending", versionId: "v2", deliveredVersionId: "v1" });
    expect(await ledger.recordDelivered(request("v2", 0), { status: "delivered", detail: "ok" }, at(4))).toBe("recorded");
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "delivered", versionId: "v2", deliveredVersionId: "v2" });
    // The same version again is still "already", and an older one still "superseded".
    expect(await ledger.markPending(request("v2", 0), at(5))).toBe("already");
    expect(await ledger.markPending(request("v0", -1), at(5))).toBe("superseded");
  });

  it("records a retryable failure as retrying with its next attempt and cause; a deferral adds no attempt", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    await ledger.markPending(request("v1", 0), at(1));
    expect(await ledger.recordAttemptFailed(request("v1", 0), { code: "throttled", message: "GitHub 429; retry after 200s" }, false, at(2), { nextAttemptAt: at(6), counted: true })).toBe("recorded");
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "retrying", attempts: 1, nextAttemptAt: at(6), lastError: { code: "throttled", message: "GitHub 429; retry after 200s", at: at(2) } });
    await ledger.recordAttemptFailed(request("v1", 0), { code: "paused", message: "github is paused" }, false, at(6), { nextAttemptAt: at(9), counted: false });
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "retrying", attempts: 1, nextAttemptAt: at(9), lastError: { code: "paused" } });
    await ledger.recordDelivered(request("v1", 0), { status: "delivered", detail: "ok" }, at(10));
    const done = await ledger.consumerDelivery("r", "c1");
    expect(done).toMatchObject({ state: "delivered", attempts: 2 });
    expect(done?.nextAttemptAt).toBeUndefined();
    // A duplicate message that fails after the success does not turn "delivered" back into "retrying".
    expect(await ledger.recordAttemptFailed(request("v1", 0), { code: "unavailable", message: "503" }, false, at(11), { nextAttemptAt: at(12), counted: true })).toBe("superseded");
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "delivered" });
  });

  it("counts final failures, and re-drives the same version only while the record is as the planner read it", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    await ledger.markPending(request("v1", 0), at(1));
    await ledger.recordAttemptFailed(request("v1", 0), { code: "not_found", message: "404" }, true, at(2));
    const failed = await ledger.consumerDelivery("r", "c1");
    expect(failed).toMatchObject({ state: "failed", failures: 1, attempts: 1 });
    // Two planners read the same record: the first re-drives it, the second finds it changed.
    expect(await ledger.markPending(request("v1", 0), at(70), { redrive: failed as never })).toBe("pending");
    expect(await ledger.markPending(request("v1", 0), at(70), { redrive: failed as never })).toBe("already");
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "pending", attempts: 0, failures: 1, lastError: { code: "not_found" } });
    await ledger.recordAttemptFailed(request("v1", 0), { code: "not_found", message: "404" }, true, at(71));
    expect(await ledger.consumerDelivery("r", "c1")).toMatchObject({ state: "failed", failures: 2 });
  });
});
