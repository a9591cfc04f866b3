import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { DynamoEnvironmentLedger } from "./dynamo-environment-ledger.js";

/** dynalite never leaves keys unprocessed, so the batch read's retry of those is shown here at the SDK client. */
describe("the ledger's batch reads", () => {
  it("asks again for the keys BatchGetItem left unprocessed, only those, until all are read", async () => {
    const dynamo = mockClient(DynamoDBDocumentClient);
    const state = { pk: "REG#hub", sk: "STATE", registryId: "hub", updatedAt: "2026-12-01T00:00:00.000Z" };
    const summary = { pk: "REG#hub", sk: "AUDIT", at: "2026-12-01T00:00:00.000Z", counts: { current: 1, stale: 0, expired: 0, doomed: 0 } };
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { ledger: [state] }, UnprocessedKeys: { ledger: { Keys: [{ pk: "REG#hub", sk: "AUDIT" }] } } })
      .resolvesOnce({ Responses: { ledger: [summary] } });
    const ledger = new DynamoEnvironmentLedger({ tableName: "ledger", client: new DynamoDBClient({ region: "eu-west-1" }) });
    const overview = (await ledger.registryOverviews(["hub"])).get("hub");
    expect(overview?.state?.registryId).toBe("hub");
    expect(overview?.summary).toBeDefined();
    const calls = dynamo.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.ledger?.Keys?.length);
    expect(calls).toEqual([3, 1]);
    dynamo.restore();
  });
});
