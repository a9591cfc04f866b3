import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { DynamoLedger } from "@pullkeeper/aws";
import { type CredentialVersion, InvalidInputError, type RegistryRecord } from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";

let dynamo: EmbeddedDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});

const registry: RegistryRecord = {
  registryId: "prod-ecr",
  host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
  kind: "ecr",
  sourceType: "ecr-token",
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-AbCdEf",
};

function version(versionId: string, createdAt: string): CredentialVersion {
  const created = new Date(createdAt);
  return {
    registryId: registry.registryId,
    secretArn: registry.secretArn,
    versionId,
    fingerprint: `hmac-sha256:${versionId.padEnd(32, "0")}`,
    createdAt: created,
    expiresAt: new Date(created.getTime() + 12 * 3600_000),
    verification: { status: "ok", detail: "GET /v2/ answered 200 with Basic auth", checkedAt: created },
  };
}

describe("DynamoLedger on an embedded DynamoDB (dynalite)", () => {
  it("records a current version and reads it back with its dates", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    expect(await ledger.registryState("prod-ecr")).toBeUndefined();
    expect(await ledger.recordCurrentVersion(registry, version("v1", "2026-11-23T08:00:00Z"))).toBe("recorded");
    const state = await ledger.registryState("prod-ecr");
    expect(state).toMatchObject({ registryId: "prod-ecr", host: registry.host, kind: "ecr", sourceType: "ecr-token", secretArn: registry.secretArn });
    expect(state?.current?.versionId).toBe("v1");
    expect(state?.current?.createdAt.toISOString()).toBe("2026-11-23T08:00:00.000Z");
    expect(state?.current?.expiresAt?.toISOString()).toBe("2026-11-23T20:00:00.000Z");
    expect(state?.current?.verification.status).toBe("ok");
  });

  it("keeps a refresh's last write intent apart from the registry's state, without a secret ARN, the latest one winning", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    expect(await ledger.writeIntent("prod-ecr")).toBeUndefined();
    const { secretArn: _arn, ...first } = version("v1", "2026-11-23T08:00:00Z");
    await ledger.recordWriteIntent(first);
    expect(await ledger.writeIntent("prod-ecr")).toEqual(first);
    // An intent is not a record: the registry has no state and no current version yet.
    expect(await ledger.registryState("prod-ecr")).toBeUndefined();
    expect((await ledger.listRegistries()).items).toEqual([]);
    const { secretArn: _arn2, ...second } = version("v2", "2026-11-23T20:00:00Z");
    await ledger.recordWriteIntent(second);
    expect(await ledger.writeIntent("prod-ecr")).toEqual(second);
    expect(await ledger.version("prod-ecr", "v2")).toBeUndefined();
  });

  it("never lets an older version overwrite a newer one; the same version again is a no-op", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    await ledger.recordCurrentVersion(registry, version("v2", "2026-11-23T10:00:00Z"));
    expect(await ledger.recordCurrentVersion(registry, version("v1", "2026-11-23T08:00:00Z"))).toBe("superseded");
    expect((await ledger.registryState("prod-ecr"))?.current?.versionId).toBe("v2");
    expect(await ledger.recordCurrentVersion(registry, version("v2", "2026-11-23T10:00:00Z"))).toBe("recorded");
    expect(await ledger.recordCurrentVersion(registry, version("v3", "2026-11-23T12:00:00Z"))).toBe("recorded");
    expect((await ledger.registryState("prod-ecr"))?.current?.versionId).toBe("v3");
  });

  // Issue 11, defect 7, on the registry's record: timestamps of limited precision tie, and the
  // version just promoted must still become the recorded current one (it was "superseded" before).
  it("records a version created at the same instant as the current one, and names the replaced one previous", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    await ledger.recordCurrentVersion(registry, version("v1", "2026-11-23T08:00:00Z"));
    expect(await ledger.recordCurrentVersion(registry, version("v2", "2026-11-23T08:00:00Z"))).toBe("recorded");
    expect((await ledger.registryState("prod-ecr"))?.current?.versionId).toBe("v2");
    expect(await ledger.version("prod-ecr", (await ledger.registryState("prod-ecr"))?.previousVersionId ?? "none")).toMatchObject({ versionId: "v1", supersededAt: new Date("2026-11-23T08:00:00Z") });
  });

  it("lists registries through the index, a page at a time", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    for (const id of ["a-reg", "b-reg", "c-reg"]) {
      await ledger.recordCurrentVersion({ ...registry, registryId: id }, { ...version("v1", "2026-11-23T08:00:00Z"), registryId: id });
    }
    const first = await ledger.listRegistries({ limit: 2 });
    expect(first.items.map((r) => r.registryId)).toEqual(["a-reg", "b-reg"]);
    expect(first.cursor).toBeTypeOf("string");
    const second = await ledger.listRegistries({ limit: 2, ...(first.cursor !== undefined && { cursor: first.cursor }) });
    expect(second.items.map((r) => r.registryId)).toEqual(["c-reg"]);
  });

  it("keeps history newest first, paginated with a cursor", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    for (let hour = 1; hour <= 5; hour++) {
      await ledger.appendHistory({ type: "rotated", registryId: "prod-ecr", at: new Date(Date.UTC(2026, 10, 23, hour)), secretArn: registry.secretArn, versionId: `v${hour}` });
    }
    await ledger.appendHistory({ type: "refresh-failed", registryId: "other", at: new Date(Date.UTC(2026, 10, 23, 9)), code: "throttled", message: "slow down" });
    const first = await ledger.history("prod-ecr", { limit: 3 });
    expect(first.items.map((e) => (e.type === "rotated" ? e.versionId : e.type))).toEqual(["v5", "v4", "v3"]);
    expect(first.items[0]?.at.toISOString()).toBe("2026-11-23T05:00:00.000Z");
    const rest = await ledger.history("prod-ecr", { limit: 3, ...(first.cursor !== undefined && { cursor: first.cursor }) });
    expect(rest.items.map((e) => (e.type === "rotated" ? e.versionId : e.type))).toEqual(["v2", "v1"]);
    expect(rest.cursor).toBeUndefined();
  });

  it("rejects a cursor it did not issue and a limit out of range", async () => {
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
    await expect(ledger.history("prod-ecr", { cursor: "bm90LWEtY3Vyc29y" })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(ledger.history("prod-ecr", { limit: 0 })).rejects.toThrow(/limit must be an integer from 1 to 100/);
  });

  it("stores the fingerprint, never anything else of the credential", async () => {
    const tableName = await dynamo.createLedgerTable();
    const ledger = new DynamoLedger({ client: dynamo.client, tableName });
    await ledger.recordCurrentVersion(registry, version("v1", "2026-11-23T08:00:00Z"));
    const items = (await dynamo.client.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    expect(items.length).toBe(2);
    const attributeNames = new Set(items.flatMap((i) => Object.keys(i)));
    for (const forbidden of ["password", "credential", "value", "token", "authorizationToken"]) expect(attributeNames.has(forbidden)).toBe(false);
  });
});
