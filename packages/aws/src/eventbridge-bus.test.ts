import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import type { PullkeeperEvent } from "@pullkeeper/core";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { EventBridgeBus } from "./eventbridge-bus.js";

function rotated(n: number): PullkeeperEvent {
  return { type: "Credential Rotated", detail: { registryId: `reg-${n}`, secretArn: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:r${n}-AbCdEf`, versionId: `v-${n}` } };
}

const entriesOf = (mock: ReturnType<typeof mockClient>) => mock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries as PutEventsRequestEntry[]);

describe("EventBridgeBus", () => {
  it("sends at most 10 entries per call, as source pullkeeper, with IDs only in the detail", async () => {
    const client = new EventBridgeClient({ region: "eu-west-1" });
    const mock = mockClient(client);
    mock.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })) }));
    await new EventBridgeBus({ client, busName: "pullkeeper-test" }).publish(Array.from({ length: 23 }, (_, i) => rotated(i)));
    const batches = entriesOf(mock);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    const first = batches[0]?.[0];
    expect(first).toMatchObject({ EventBusName: "pullkeeper-test", Source: "pullkeeper", DetailType: "Credential Rotated" });
    expect(Object.keys(JSON.parse(first?.Detail ?? "{}")).sort()).toEqual(["registryId", "secretArn", "versionId"]);
  });

  it("retries only the entries that came back failed, until they are accepted", async () => {
    const client = new EventBridgeClient({ region: "eu-west-1" });
    const mock = mockClient(client);
    mock
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 2, Entries: [{ EventId: "a" }, { ErrorCode: "ThrottlingException", ErrorMessage: "slow" }, { EventId: "c" }, { ErrorCode: "InternalFailure" }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: "b" }, { EventId: "d" }] });
    await new EventBridgeBus({ client, busName: "b", minBackoffMs: 1 }).publish([rotated(1), rotated(2), rotated(3), rotated(4)]);
    const batches = entriesOf(mock);
    expect(batches).toHaveLength(2);
    expect(batches[1]?.map((e) => JSON.parse(e.Detail ?? "{}").registryId)).toEqual(["reg-2", "reg-4"]);
  });

  it("throws, naming the error codes, when entries still fail after every attempt", async () => {
    const client = new EventBridgeClient({ region: "eu-west-1" });
    const mock = mockClient(client);
    // reg-2 is refused every time; the answer lists one result per entry sent, as PutEvents does.
    mock.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      const results = input.Entries.map((e) => (JSON.parse(e.Detail ?? "{}").registryId === "reg-2" ? { ErrorCode: "InternalFailure" } : { EventId: "ok" }));
      return { FailedEntryCount: results.filter((r) => "ErrorCode" in r).length, Entries: results };
    });
    const error = await new EventBridgeBus({ client, busName: "b", attempts: 3, minBackoffMs: 1 }).publish([rotated(1), rotated(2)]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "events_undelivered" });
    expect((error as Error).message).toMatch(/1 of 2 events .* InternalFailure/);
    expect(mock.commandCalls(PutEventsCommand)).toHaveLength(3);
  });

  it("classifies a call that fails outright", async () => {
    const client = new EventBridgeClient({ region: "eu-west-1" });
    mockClient(client).on(PutEventsCommand).rejects(Object.assign(new Error("not authorized to perform events:PutEvents"), { name: "AccessDeniedException", $metadata: {} }));
    await expect(new EventBridgeBus({ client, busName: "b", attempts: 2, minBackoffMs: 1 }).publish([rotated(1)])).rejects.toMatchObject({ code: "access_denied" });
  });
});
