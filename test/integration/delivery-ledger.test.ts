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
});
