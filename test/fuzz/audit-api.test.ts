import { createApiHandler } from "@pullkeeper/aws/lambda/handlers/api";
import { AuditApi } from "@pullkeeper/api";
import { type AuditActions, parseConfig } from "@pullkeeper/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { lambdaContext } from "../support/lambda.js";
import { REGISTRY_YAML } from "../support/registries-yaml.js";
import { AT, CONSUMERS, type FuzzLedger, fuzzLedger } from "./audit-api-ledger.js";
import { mutatedJsonText, mutatedText, oddKey, oddString } from "./mutate.js";
import { check } from "./outcomes.js";
import { FUZZ_TIMEOUT_MS, fuzzAsync } from "./settings.js";

/**
 * Every route of the audit API through its Lambda handler (functions/api.ts; the embedded runtime's
 * server calls the same one), with fuzzed method, path, query, headers and body. Allowed: 2xx/3xx,
 * or 4xx JSON with `code` and `message`. Never a 5xx or an exception; never a write for a request
 * that was refused, counted at the DynamoDB client and checked against a scan of the whole table.
 */

const config = parseConfig(`registries:\n${REGISTRY_YAML.prodEcr}${REGISTRY_YAML.hub}${REGISTRY_YAML.localFile}`);
const IDS = ["prod-ecr", "hub", "local", "pods", "ci", "pods.old", "pods.new", "scan", "nope"];
/** Each route with the method it answers; the fuzz mostly keeps the pair, so requests get past routing. */
const ROUTES: readonly [string, string][] = [
  ["GET", "/"], ["GET", "/index.html"], ["GET", "/dashboard.js"], ["GET", "/v1"], ["GET", "/v1/registries"], ["GET", "/v1/registries/{id}"], ["GET", "/v1/registries/{id}/history"],
  ["GET", "/v1/registries/{id}/versions"], ["POST", "/v1/registries/{id}/refresh"], ["POST", "/v1/registries/{id}/propagate"], ["POST", "/v1/registries/{id}/rollback"],
  ["GET", "/v1/consumers"], ["POST", "/v1/consumers/{id}/redeliver"], ["GET", "/v1/environments"], ["POST", "/v1/environments/scan"], ["POST", "/v1/environments/{id}/restart"],
  ["GET", "/v1/expiring"], ["GET", "/healthz"],
];
const QUERY_VALUES: Record<string, readonly string[]> = {
  limit: ["1", "2", "100", "0", "101", "-1", "1.5", "1e3", "NaN"],
  force: ["true", "false", "yes", ""],
  registry: IDS,
  consumer: IDS,
  state: ["pending", "retrying", "delivered", "verified", "failed", "never", "bogus"],
  verdict: ["current", "stale", "expired", "doomed", "bogus"],
  within: ["6h", "30m", "1d", "0s", "-1h", "99999999999d", "soon"],
  cursor: [],
};

interface Request {
  readonly method: string;
  readonly path: string;
  readonly query: [string, string][];
  readonly headers: [string, string][];
  readonly body: string | undefined;
  readonly base64: boolean;
}

function requests(cursors: readonly string[]): fc.Arbitrary<Request> {
  const id = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...IDS) }, oddString, fc.constantFrom("%ff", "%E0%A4%A", "%", "%zz", "a%2Fb", "..", "%2e%2e", "__proto__", "constructor", "pods.old/x"));
  const anyMethod = fc.oneof(fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", ""), oddString);
  const route = fc.oneof(
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), id).map(([[method, template], i]) => ({ method, path: template.replace("{id}", i) })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), id, anyMethod).map(([[, template], i, method]) => ({ method, path: template.replace("{id}", i) })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), mutatedText(ROUTES.map(([, t]) => t.replace("{id}", "prod-ecr")))).map(([[method], path]) => ({ method, path })) },
    { weight: 1, arbitrary: fc.tuple(anyMethod, fc.oneof(fc.webPath(), fc.string({ unit: "binary", maxLength: 80 }).map((s) => `/v1/${s}`))).map(([method, path]) => ({ method, path })) },
  );
  const queryKey = fc.oneof(fc.constantFrom(...Object.keys(QUERY_VALUES)), oddKey);
  const allCursors = [...cursors, "e30", "!!", ""];
  const queryValue = (key: string) => {
    const known = key === "cursor" ? allCursors : Object.hasOwn(QUERY_VALUES, key) ? (QUERY_VALUES[key] as string[]) : ["x"];
    return fc.oneof(fc.constantFrom(...known), oddString, mutatedText(known));
  };
  const query = fc.array(queryKey.chain((k) => queryValue(k).map((v): [string, string] => [k, v])), { maxLength: 4 });
  const headers = fc.array(fc.tuple(fc.oneof(fc.constantFrom("content-type", "content-length", "host", "authorization", "x-forwarded-for"), oddKey), oddString), { maxLength: 3 });
  const body = fc.option(fc.oneof(oddString, mutatedJsonText([{ force: true }, { registryIds: ["prod-ecr"] }, { rollback: "hub" }])), { nil: undefined });
  return fc.record({ route, query, headers, body, base64: fc.boolean() }).map(({ route: r, ...rest }) => ({ ...r, ...rest }));
}

/** An object with exactly these own keys, `__proto__` included (as API Gateway's JSON would give it). */
function own(entries: readonly [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

function toEvent(r: Request): APIGatewayProxyEventV2 {
  return {
    version: "2.0", routeKey: "$default", rawPath: r.path, rawQueryString: r.query.map(([k, v]) => `${k}=${v}`).join("&"),
    headers: own(r.headers), ...(r.query.length > 0 && { queryStringParameters: own(r.query) }),
    requestContext: { accountId: "123456789012", apiId: "fuzz", domainName: "fuzz", domainPrefix: "fuzz", http: { method: r.method, path: r.path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "fuzz" }, requestId: "fuzz", routeKey: "$default", stage: "$default", time: AT.toUTCString(), timeEpoch: AT.getTime() },
    ...(r.body !== undefined && { body: r.base64 ? Buffer.from(r.body).toString("base64") : r.body, isBase64Encoded: r.base64 }),
  } as APIGatewayProxyEventV2;
}

let dynamo: EmbeddedDynamo;
let store: FuzzLedger;
beforeAll(async () => {
  dynamo = await startDynalite();
  store = await fuzzLedger(dynamo);
});
afterAll(() => dynamo?.stop());

describe("fuzz: the audit API's routes, query and body", () => {
  it("answers 2xx/3xx or a 4xx {code, message}, never a 5xx, and writes nothing for a request it refused", async () => {
    let acted: string[] = [];
    const act = (name: string, result: unknown) => async () => (acted.push(name), result);
    const actions: AuditActions = {
      refresh: act("refresh", { results: [] }), propagate: act("propagate", { requested: 0 }), rollback: act("rollback", { outcome: "rolled-back" }) as never,
      redeliver: act("redeliver", { requested: 1 }) as never, scan: act("scan", { totals: {} }) as never, restart: act("restart", { detail: "restarted" }) as never,
    };
    const api = new AuditApi({ registries: config.registries, consumers: CONSUMERS, ledger: store.ledger, actions, clock: { now: () => new Date(AT.getTime() + 3_600_000) }, dashboard: { html: "<html></html>", script: "//" } });
    const handler = createApiHandler(() => api);
    const context = lambdaContext("api");
    // Real cursors the API handed out, so mutated ones start from something it accepts.
    const cursors: string[] = [];
    for (const path of ["/v1/registries/prod-ecr/history", "/v1/registries", "/v1/environments"]) {
      const out = await handler(toEvent({ method: "GET", path, query: [["limit", "1"]], headers: [], body: undefined, base64: false }), context);
      const cursor = (JSON.parse(String(out.body)) as { cursor?: string | null }).cursor;
      if (typeof cursor === "string") cursors.push(cursor);
    }
    expect(cursors.length).toBeGreaterThanOrEqual(3);
    store.takeWrites();
    const before = await store.snapshot();
    let restarts = 0;

    await fuzzAsync(requests(cursors), async (request) => {
      acted = [];
      const out = await handler(toEvent(request), context);
      const status = out.statusCode ?? 0;
      const writes = store.takeWrites();
      const body = String(out.body ?? "");
      check(status >= 200 && status < 500, `status ${status}: ${body.slice(0, 300)}`);
      check(!/ValidationException|DynamoDB|lib-dynamodb|NumberValue|ledger-\d|at \S+\.(?:js|ts):\d/.test(body), `internals in the answer: ${body.slice(0, 300)}`);
      if (status >= 400) {
        check(String((out.headers as Record<string, string>)["content-type"]).startsWith("application/json"), "a refusal is JSON");
        const refusal = JSON.parse(body) as { code?: unknown; message?: unknown };
        check(typeof refusal.code === "string" && refusal.code !== "" && typeof refusal.message === "string" && refusal.message !== "", `a refusal has code and message: ${body.slice(0, 300)}`);
        check(writes.length === 0 && acted.length === 0, `refused (${status}) yet wrote ${writes.join(", ")} / acted ${acted.join(", ")}`);
        return;
      }
      if (request.method !== "POST") check(writes.length === 0 && acted.length === 0, `a ${request.method} wrote ${writes.join(", ")} / acted ${acted.join(", ")}`);
      if (acted.includes("restart")) restarts++;
      else check(writes.length === 0, `only a restart writes (its history entry), got ${writes.join(", ")}`);
    });

    // The table itself: nothing changed but one history entry per restart that was accepted.
    const after = await store.snapshot();
    const added = after.filter((item) => !before.includes(item));
    expect(before.filter((item) => !after.includes(item))).toEqual([]);
    expect(added.length).toBe(restarts);
    for (const item of added) expect(item).toContain("environment-restarted");
  }, FUZZ_TIMEOUT_MS);
});
