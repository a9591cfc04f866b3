import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoLedger } from "@pullkeeper/aws";
import { AuditApi } from "@pullkeeper/api";
import { AuditScanService, type Consumer, type DiscoveredEnvironment, parseConfig } from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { REGISTRY_YAML } from "../support/registries-yaml.js";
import { ScriptedTarget } from "../support/scripted-target.js";

/**
 * Issue 15, Load: environment pages are served from what the last scan left, without DynamoDB, until
 * a scan moves the ledger's audit generation — and never across one.
 */

const config = parseConfig(`registries:\n${REGISTRY_YAML.hub}`);
const consumers: Consumer[] = [{ id: "pods", registryId: "hub", target: { kind: "scripted" } }];
const pod = (name: string): DiscoveredEnvironment => ({ externalId: `ns/${name}`, kind: "kubernetes-pod", name, startedAt: new Date("2026-11-23T08:00:00Z"), status: "Running" });

let dynamo: EmbeddedDynamo;
let tableName: string;
beforeAll(async () => {
  dynamo = await startDynalite();
  tableName = await dynamo.createLedgerTable();
});
afterAll(() => dynamo.stop());

/** Every command this client sends, counted where the SDK starts it. */
function counted(client: DynamoDBClient): { readonly calls: string[] } {
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? "?");
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
  return { calls };
}

function world(options: { generationMaxAgeMs: number }) {
  const target = new ScriptedTarget();
  // The scan's ledger: a Lambda (or the embedded runtime) of its own.
  const scanLedger = new DynamoLedger({ client: dynamo.newClient(), tableName });
  const scan = new AuditScanService({ registries: config.registries, consumers, targets: new Map([["scripted", target]]), ledger: scanLedger, bus: { publish: async () => undefined }, clock: { now: () => new Date() }, clockSkewSeconds: 5 });
  const apiClient = dynamo.newClient();
  const count = counted(apiClient);
  const api = new AuditApi({ registries: config.registries, consumers, ledger: new DynamoLedger({ client: apiClient, tableName }), environmentCache: { generationMaxAgeMs: options.generationMaxAgeMs } });
  const names = async () => {
    const out = await api.handle({ method: "GET", path: "/v1/environments", query: { registry: "hub" } });
    expect(out.status).toBe(200);
    return (out.body as { items: { name: string }[] }).items.map((e) => e.name).sort();
  };
  return { target, scan, count, names };
}

describe("audit API environment pages between scans", () => {
  it("serves a page again without calling DynamoDB while the generation holds", async () => {
    const { target, scan, count, names } = world({ generationMaxAgeMs: 60_000 });
    target.running.set("pods", [pod("cached-1"), pod("cached-2")]);
    await scan.scan();
    expect(await names()).toEqual(["cached-1", "cached-2"]);
    expect(count.calls).toEqual(expect.arrayContaining(["GetItemCommand", "QueryCommand"]));
    count.calls.length = 0;
    for (let i = 0; i < 5; i++) expect(await names()).toEqual(["cached-1", "cached-2"]);
    expect(count.calls).toEqual([]);
  });

  it("re-reads only the one generation item when told to trust it for 0 ms", async () => {
    const { target, scan, count, names } = world({ generationMaxAgeMs: 0 });
    target.running.set("pods", [pod("marker-1")]);
    await scan.scan();
    await names();
    count.calls.length = 0;
    await names();
    await names();
    expect(count.calls).toEqual(["GetItemCommand", "GetItemCommand"]);
  });

  it("shows a scan's results right after it, in another process's API, never the previous generation's page", async () => {
    const { target, scan, names } = world({ generationMaxAgeMs: 0 });
    target.running.set("pods", [pod("before-1"), pod("before-2")]);
    await scan.scan();
    expect(await names()).toEqual(["before-1", "before-2"]);
    target.running.set("pods", [pod("after-1")]);
    await scan.scan();
    expect(await names()).toEqual(["after-1"]);
  });

  it("shows a write through the same ledger at once, however long the generation is trusted (the embedded runtime)", async () => {
    const target = new ScriptedTarget();
    const client = dynamo.newClient();
    const ledger = new DynamoLedger({ client, tableName });
    const scan = new AuditScanService({ registries: config.registries, consumers, targets: new Map([["scripted", target]]), ledger, bus: { publish: async () => undefined }, clock: { now: () => new Date() }, clockSkewSeconds: 5 });
    const api = new AuditApi({ registries: config.registries, consumers, ledger, environmentCache: { generationMaxAgeMs: 3_600_000 } });
    const names = async () => ((await api.handle({ method: "GET", path: "/v1/environments", query: { registry: "hub" } })).body as { items: { name: string }[] }).items.map((e) => e.name).sort();
    target.running.set("pods", [pod("same-1")]);
    await scan.scan();
    expect(await names()).toEqual(["same-1"]);
    target.running.set("pods", [pod("same-2")]);
    await scan.scan();
    expect(await names()).toEqual(["same-2"]);
    await ledger.removeEnvironment("hub", (await ledger.environments({ registryId: "hub" })).items[0]?.id as string);
    expect(await names()).toEqual([]);
  });
});

describe("audit API registry list", () => {
  it("reads a page of registries in two batched round trips, answering exactly as item by item", async () => {
    const registries = parseConfig(`registries:\n${REGISTRY_YAML.prodEcr}${REGISTRY_YAML.hub}${REGISTRY_YAML.localFile}`).registries;
    const table = await dynamo.createLedgerTable();
    const client = dynamo.newClient();
    const ledger = new DynamoLedger({ client, tableName: table });
    const at = new Date("2026-11-23T08:00:00Z");
    const record = { registryId: "prod-ecr", host: "h", kind: "ecr" as const, sourceType: "ecr-token" as const, secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-AbCdEf" };
    const version = (versionId: string, createdAt: Date) => ({ registryId: "prod-ecr", secretArn: record.secretArn, versionId, fingerprint: `hmac-sha256:${versionId}`, createdAt, verification: { status: "ok" as const, detail: "200", checkedAt: createdAt } });
    await ledger.recordCurrentVersion(record, version("v1", at));
    await ledger.recordCurrentVersion(record, version("v2", new Date(at.getTime() + 60_000)));
    await ledger.recordRevocationStatus("prod-ecr", { versionId: "v1", state: "waiting", reason: "2 of 3 consumers hold v2", checkedAt: at });
    await ledger.recordAuditSummary({ registryId: "hub", at, counts: { current: 3, stale: 1, expired: 0, doomed: 0 }, discoveryFailures: 1 });
    const count = counted(client);

    const batched = await new AuditApi({ registries, ledger }).handle({ method: "GET", path: "/v1/registries", query: {} });
    expect(count.calls).toEqual(["BatchGetItemCommand", "BatchGetItemCommand"]);
    // The same ledger without the batch: the API falls back to its reads item by item.
    const itemByItem = new Proxy(ledger, {
      get: (target, name) => {
        if (name === "registryOverviews") return undefined;
        const value = Reflect.get(target, name) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const single = await new AuditApi({ registries, ledger: itemByItem }).handle({ method: "GET", path: "/v1/registries", query: {} });
    expect(batched).toEqual(single);
    const [prod, hub, local] = (batched.body as { items: Record<string, unknown>[] }).items;
    expect(prod).toMatchObject({ current: { versionId: "v2" }, previous: { versionId: "v1" }, revocation: { versionId: "v1", state: "waiting" } });
    expect(hub).toMatchObject({ current: null, environments: { counts: { stale: 1 }, discoveryFailures: 1 } });
    expect(local).toMatchObject({ current: null, previous: null, revocation: null, environments: null });
  });
});
