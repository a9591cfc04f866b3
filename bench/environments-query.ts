import { BatchWriteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { DynamoLedger, ensureLedgerTable, toEnvironmentItem, verdictIndexKey } from "@pullkeeper/aws";
import { AuditApi } from "@pullkeeper/api";
import { type Consumer, environmentId, type EnvironmentRecord, type Registry, type Verdict } from "@pullkeeper/core";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import dynalite from "dynalite";
import type { AddressInfo } from "node:net";
import pLimit from "p-limit";
import { createApiHandler } from "../functions/api.js";
import { median } from "./median.js";

/**
 * GET /v1/environments?verdict=stale with `total` environments in the ledger (1 in 100 stale),
 * through functions/api.ts's handler, next to a raw DynamoDB Query of the same index page. Both
 * against dynalite on loopback, so the difference is the API's own cost. Medians of `runs`.
 * `apiMs` Queries DynamoDB every time; `cachedApiMs` is the page served from memory between scans.
 */
export async function environmentsQuery(options: { total: number; runs: number; pageSize: number }) {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
  const tableName = "bench-ledger";
  try {
    await ensureLedgerTable(client, tableName);
    const registries: Registry[] = Array.from({ length: 10 }, (_, r) => ({ id: `reg-${r}`, host: `r${r}.example.com`, kind: "generic", source: { type: "managed-secret" }, secret: `bench/reg-${r}`, verify: {} }));
    const consumers: Consumer[] = Array.from({ length: 100 }, (_, c) => ({ id: `cons-${c}`, registryId: `reg-${c % 10}`, target: { kind: "kubernetes-secret" } }));
    const now = new Date();
    const record = (i: number): EnvironmentRecord => {
      const consumer = consumers[i % consumers.length] as Consumer;
      const verdict: Verdict = i % 100 === 7 ? "stale" : "current";
      const externalId = `ns/pod-${i}`;
      return { id: environmentId(consumer.id, externalId), registryId: consumer.registryId, consumerId: consumer.id, externalId, kind: "kubernetes-pod", name: `pod-${i}`, startedAt: now, status: "Running", verdict, heldVersionId: "v1", verdictSince: now, reason: "seeded", firstSeenAt: now, lastSeenAt: now };
    };
    const seedStart = Date.now();
    const limit = pLimit(8);
    const batches = Array.from({ length: Math.ceil(options.total / 25) }, (_, b) => Array.from({ length: Math.min(25, options.total - b * 25) }, (_, k) => record(b * 25 + k)));
    await Promise.all(
      batches.map((batch) =>
        limit(async () => {
          let pending = batch.map((e) => ({ PutRequest: { Item: marshall(toEnvironmentItem(e), { removeUndefinedValues: true }) } }));
          while (pending.length > 0) {
            const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
            pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
          }
        }),
      ),
    );
    const seedMs = Date.now() - seedStart;

    const ledger = new DynamoLedger({ tableName, client });
    // Uncached: nothing is kept (maxItems 0), so every request Queries DynamoDB as the raw one does
    // (the generation item is read once a second, as in production). Cached: the API as deployed,
    // serving the page from memory between scans — a separate figure, so neither passes for the other.
    const handler = createApiHandler(() => new AuditApi({ registries, consumers, ledger, environmentCache: { maxItems: 0 } }));
    const cachedHandler = createApiHandler(() => new AuditApi({ registries, consumers, ledger }));
    const event = { rawPath: "/v1/environments", queryStringParameters: { verdict: "stale", limit: String(options.pageSize) }, requestContext: { http: { method: "GET" } } } as unknown as APIGatewayProxyEventV2;
    const doc = DynamoDBDocumentClient.from(client);
    const raw = () => doc.send(new QueryCommand({ TableName: tableName, IndexName: "gsi1", KeyConditionExpression: "gsi1pk = :pk", ExpressionAttributeValues: { ":pk": verdictIndexKey("stale") }, Limit: options.pageSize }));

    // Interleaved, one sample of each per run, so whatever else the machine does (LevelDB compacting
    // the seed, other processes) falls on all three alike rather than on whichever ran first.
    // The API's work ends with its JSON body; reading it back is the client's, so it is checked after.
    const works = {
      api: () => handler(event, {} as Context),
      cached: () => cachedHandler(event, {} as Context),
      raw,
    };
    const samples: Record<keyof typeof works, number[]> = { api: [], cached: [], raw: [] };
    const last: Partial<Record<keyof typeof works, unknown>> = {};
    for (let i = 0; i <= options.runs; i++) {
      for (const name of Object.keys(works) as (keyof typeof works)[]) {
        const start = process.hrtime.bigint();
        last[name] = await works[name]();
        // The first round warms up (JIT, connections, the cache) and is not counted.
        if (i > 0) samples[name].push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }
    const items = (out: unknown) => (JSON.parse((out as { body?: string }).body ?? "{}") as { items: unknown[] }).items.length;
    const [apiItems, cachedItems, rawItems] = [items(last.api), items(last.cached), (last.raw as { Items?: unknown[] }).Items?.length ?? 0];
    const [apiMs, cachedApiMs, rawMs] = [median(samples.api), median(samples.cached), median(samples.raw)];
    if (apiItems !== options.pageSize || cachedItems !== options.pageSize || rawItems !== options.pageSize) throw new Error(`expected full pages of ${options.pageSize}, got API ${apiItems}, cached ${cachedItems}, raw ${rawItems}`);
    return { seedMs, apiMs, cachedApiMs, rawMs };
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
