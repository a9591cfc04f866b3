import { DynamoLedger } from "@pullkeeper/aws";
import { AuditApi } from "@pullkeeper/api";
import { parseConfig } from "@pullkeeper/core";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiHandler } from "../../functions/api.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { REGISTRY_YAML } from "../support/registries-yaml.js";

const config = parseConfig(`registries:
${REGISTRY_YAML.prodEcr}${REGISTRY_YAML.hub}${REGISTRY_YAML.localFile}`);

let dynamo: EmbeddedDynamo;
let ledger: DynamoLedger;
beforeAll(async () => {
  dynamo = await startDynalite();
  ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
  const at = new Date("2026-11-23T08:00:00Z");
  const record = { registryId: "prod-ecr", host: "h", kind: "ecr" as const, sourceType: "ecr-token" as const, secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-AbCdEf" };
  await ledger.recordCurrentVersion(record, {
    registryId: "prod-ecr", secretArn: record.secretArn, versionId: "v1", fingerprint: "hmac-sha256:ab", createdAt: at,
    expiresAt: new Date("2026-11-23T20:00:00Z"), verification: { status: "ok", detail: "200", checkedAt: at },
  });
  for (let i = 1; i <= 3; i++) await ledger.appendHistory({ type: "rotated", registryId: "prod-ecr", at: new Date(at.getTime() + i * 1000), secretArn: record.secretArn, versionId: `v${i}` });
});
afterAll(() => dynamo.stop());

const context = {} as Context;
function event(method: string, path: string, query?: Record<string, string>): APIGatewayProxyEventV2 {
  return { rawPath: path, ...(query && { queryStringParameters: query }), requestContext: { http: { method } } } as unknown as APIGatewayProxyEventV2;
}

describe("audit API through functions/api.ts", () => {
  const refreshed: string[] = [];
  const handler = createApiHandler(() => new AuditApi({ registries: config.registries, ledger, actions: { refresh: async (r, o) => (refreshed.push(`${r.id}:${o.force}`), { ok: true }) } }));
  const call = async (method: string, path: string, query?: Record<string, string>) => {
    const out = await handler(event(method, path, query), context);
    return { status: out.statusCode, body: JSON.parse(out.body ?? "null") };
  };

  it("lists registries from the config with their current version, a page at a time", async () => {
    const first = await call("GET", "/v1/registries", { limit: "2" });
    expect(first.status).toBe(200);
    expect(first.body.items.map((r: { id: string }) => r.id)).toEqual(["prod-ecr", "hub"]);
    expect(first.body.items[0].current).toMatchObject({ versionId: "v1", expiresAt: "2026-11-23T20:00:00.000Z", verification: { status: "ok" } });
    expect(first.body.items[1].current).toBeNull();
    const second = await call("GET", "/v1/registries", { limit: "2", cursor: first.body.cursor });
    expect(second.body.items.map((r: { id: string }) => r.id)).toEqual(["local"]);
    expect(second.body.cursor).toBeNull();
  });

  it("shows one registry and its history newest first", async () => {
    expect((await call("GET", "/v1/registries/prod-ecr")).body).toMatchObject({ id: "prod-ecr", source: "ecr-token" });
    const history = await call("GET", "/v1/registries/prod-ecr/history", { limit: "2" });
    expect(history.body.items.map((e: { versionId: string }) => e.versionId)).toEqual(["v3", "v2"]);
    expect(history.body.cursor).toBeTypeOf("string");
  });

  it("lists what expires within a window, soonest first, and names a bad window", async () => {
    const clocked = createApiHandler(() => new AuditApi({ registries: config.registries, ledger, clock: { now: () => new Date("2026-11-23T16:00:00Z") } }));
    const get = async (q: Record<string, string>) => {
      const out = await clocked(event("GET", "/v1/expiring", q), context);
      return { status: out.statusCode, body: JSON.parse(out.body ?? "null") };
    };
    const soon = await get({ within: "6h" });
    expect(soon.status).toBe(200);
    expect(soon.body.items).toEqual([expect.objectContaining({ id: "prod-ecr", expiresInSeconds: 4 * 3600 })]);
    expect((await get({ within: "2h" })).body.items).toEqual([]);
    expect(await get({ within: "soon" })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^within:/) } });
  });

  it("answers errors as {code, message}: 404 for unknown ids and routes, 400 naming the bad field", async () => {
    expect(await call("GET", "/v1/registries/nope")).toEqual({ status: 404, body: { code: "not_found", message: "registry nope not found" } });
    expect((await call("GET", "/v1/nothing")).status).toBe(404);
    expect(await call("GET", "/v1/registries", { limit: "0" })).toMatchObject({ status: 400, body: { code: "invalid_input", message: expect.stringMatching(/^limit:/) } });
    expect(await call("GET", "/v1/registries", { cursor: "!!" })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^cursor:/) } });
  });

  it("refreshes on demand what pullkeeper mints or rotates, and refuses a managed secret", async () => {
    expect((await call("POST", "/v1/registries/prod-ecr/refresh", { force: "true" })).status).toBe(200);
    expect((await call("POST", "/v1/registries/local/refresh")).status).toBe(200);
    expect(await call("POST", "/v1/registries/hub/refresh")).toMatchObject({ status: 400, body: { message: expect.stringMatching(/managed-secret/) } });
    expect(await call("POST", "/v1/registries/prod-ecr/refresh", { force: "yes" })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^force:/) } });
    expect(refreshed).toEqual(["prod-ecr:true", "local:false"]);
  });
});
