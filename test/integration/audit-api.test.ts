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

  // Issue 15, defect 2: forged cursors reached DynamoDB and came back 502 with its internals.
  it("answers a forged cursor on every paged route with 400 naming the cursor, never a 5xx or DynamoDB's words", async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const forged = ["e30", b64({ pk: 1e300 }), b64({ pk: "REG#prod-ecr", sk: 1e300 }), b64({ pk: "REG#other", sk: "H#x" }), b64({ a: "x", b: "y", c: "z", d: "w", e: "v" }), b64({ pk: "x".repeat(5000) }), b64([]), b64("x"), b64(null), "%%%", ""];
    for (const cursor of forged) {
      for (const path of ["/v1/registries/prod-ecr/history", "/v1/registries", "/v1/consumers", "/v1/environments"]) {
        const out = await call("GET", path, { cursor });
        expect(out.status, `${path}?cursor=${cursor}: ${JSON.stringify(out.body)}`).toBeLessThan(500);
        if (out.status !== 200) expect(out.body, `${path}?cursor=${cursor}`).toMatchObject({ code: "invalid_input", message: expect.stringMatching(/^cursor:/) });
        expect(JSON.stringify(out.body)).not.toMatch(/ValidationException|Dynamo|NumberValue|lib-dynamodb|pullkeeper-ledger|ledger Query/);
      }
    }
  });

  // Issue 15, defect 3: bad percent-encoding in a path was a 500.
  it("answers a path with bad percent-encoding with 400, not 500", async () => {
    for (const path of ["/v1/registries/%ff", "/v1/registries/%E0%A4%A", "/v1/registries/%", "/v1/registries/%zz", "/v1/%zz/x", "/v1/registries/%ff/history"]) {
      const out = await call("GET", path);
      expect(out, path).toMatchObject({ status: 400, body: { code: "invalid_input", message: expect.stringMatching(/percent-encoding/) } });
    }
  });

  it("refreshes on demand what pullkeeper mints or rotates, and refuses a managed secret", async () => {
    expect((await call("POST", "/v1/registries/prod-ecr/refresh", { force: "true" })).status).toBe(200);
    expect((await call("POST", "/v1/registries/local/refresh")).status).toBe(200);
    expect(await call("POST", "/v1/registries/hub/refresh")).toMatchObject({ status: 400, body: { message: expect.stringMatching(/managed-secret/) } });
    expect(await call("POST", "/v1/registries/prod-ecr/refresh", { force: "yes" })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^force:/) } });
    expect(refreshed).toEqual(["prod-ecr:true", "local:false"]);
  });
});
