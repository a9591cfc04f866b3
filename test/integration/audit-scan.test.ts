import { DynamoLedger } from "@pullkeeper/aws";
import { AuditApi } from "@pullkeeper/api";
import {
  AuditScanService,
  type Consumer,
  type DiscoveredEnvironment,
  DeliveryError,
  environmentId,
  type PullkeeperEvent,
  type Registry,
  type UndeclaredConsumer,
} from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedTarget } from "../support/scripted-target.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";

/**
 * The audit over a real DynamoDB (dynalite): scan → verdicts in the ledger → the API's answers.
 * The provider side is a scripted target: what "is running" is whatever the test says.
 */

const T0 = new Date("2026-11-23T08:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

const registries: Registry[] = [
  { id: "prod", host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", kind: "ecr", source: { type: "ecr-token", account: "123456789012", region: "eu-west-1" }, secret: "pullkeeper/prod", verify: {} },
  { id: "hub", host: "registry-1.docker.io", kind: "dockerhub", source: { type: "managed-secret" }, secret: "pullkeeper/hub", verify: {} },
];
const consumers: Consumer[] = [
  { id: "pods", registryId: "prod", target: { kind: "scripted" }, restart: true },
  { id: "builds", registryId: "prod", target: { kind: "scripted" } },
  { id: "hub-pods", registryId: "hub", target: { kind: "scripted" } },
];

const pod = (name: string, startedAt: Date): DiscoveredEnvironment => ({ externalId: `team-a/${name}`, kind: "kubernetes-pod", name, startedAt, status: "Running" });

let dynamo: EmbeddedDynamo;
let ledger: DynamoLedger;
const target = new ScriptedTarget();
const events: PullkeeperEvent[] = [];
let now = at(180);
let undeclaredFound: UndeclaredConsumer[] = [];
let service: AuditScanService;
let api: AuditApi;

beforeAll(async () => {
  dynamo = await startDynalite();
  ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
  const record = { registryId: "prod", host: registries[0]?.host as string, kind: "ecr" as const, sourceType: "ecr-token" as const, secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-AbCdEf" };
  const version = (versionId: string, createdAt: Date) => ({ registryId: "prod", secretArn: record.secretArn, versionId, fingerprint: `hmac:${versionId}`, createdAt, expiresAt: new Date(createdAt.getTime() + 12 * 3600_000), verification: { status: "ok" as const, detail: "200", checkedAt: createdAt } });
  // v1 at 08:00 delivered 08:01; v2 at 10:00 delivered to pods at 10:01; builds never got v2.
  await ledger.recordCurrentVersion(record, version("v1", at(0)));
  await ledger.recordCurrentVersion(record, version("v2", at(120)));
  for (const [consumerId, versionId, minute] of [["pods", "v1", 1], ["builds", "v1", 1], ["pods", "v2", 121]] as const) {
    await ledger.appendHistory({ type: "delivered", registryId: "prod", at: at(minute), consumerId, versionId, status: "verified" });
    await ledger.recordDelivered({ consumerId, registryId: "prod", secretArn: record.secretArn, versionId, versionCreatedAt: versionId === "v1" ? at(0) : at(120) }, { status: "verified", detail: "" }, at(minute));
  }
  await ledger.markPending({ consumerId: "builds", registryId: "prod", secretArn: record.secretArn, versionId: "v2", versionCreatedAt: at(120) }, at(120));
  await ledger.recordAttemptFailed({ consumerId: "builds", registryId: "prod", secretArn: record.secretArn, versionId: "v2", versionCreatedAt: at(120) }, { code: "wiring_role", message: "the project's role cannot read the secret" }, true, at(125));

  target.running.set("pods", [pod("web-old", at(60)), pod("web-new", at(150))]);
  target.running.set("builds", [{ externalId: "builds:1234", kind: "codebuild-build", name: "builds:1234", startedAt: at(170), status: "IN_PROGRESS" }]);
  target.running.set("hub-pods", []);
  const deps = {
    registries,
    consumers,
    targets: new Map([["scripted", target]]),
    ledger,
    bus: { publish: async (e: readonly PullkeeperEvent[]) => void events.push(...e) },
    clock: { now: () => now },
    clockSkewSeconds: 5,
    undeclared: { find: async () => undeclaredFound },
  };
  service = new AuditScanService(deps);
  api = new AuditApi({
    registries,
    consumers,
    ledger,
    clock: { now: () => now },
    actions: {
      refresh: async () => ({}),
      scan: (ids) => service.scan(ids ? { registryIds: ids } : {}),
      restart: (c, e) => target.restartEnvironment(c, e),
    },
  });
});
afterAll(() => dynamo.stop());

const get = async (path: string, query: Record<string, string> = {}) => api.handle({ method: "GET", path, query });
const post = async (path: string, query: Record<string, string> = {}) => api.handle({ method: "POST", path, query });
const names = (body: unknown) => (body as { items: { name: string }[] }).items.map((e) => e.name).sort();

describe("audit scan over the ledger", () => {
  it("judges every running environment and answers GET /v1/environments by verdict, registry and consumer", async () => {
    undeclaredFound = [{ registryId: "prod", kind: "codebuild-project", resource: "arn:aws:codebuild:eu-west-1:123456789012:project/legacy", name: "legacy", region: "eu-west-1", foundIn: "environment.registryCredential.credential", secretReference: "pullkeeper/prod" }];
    const report = await service.scan();
    expect(report.totals).toEqual({ current: 1, stale: 1, expired: 0, doomed: 1 });
    expect(report.discoveryFailures).toBe(0);
    expect(report.minutesToEarliestExpiry).toBe(12 * 60 - 60);

    const stale = await get("/v1/environments", { verdict: "stale" });
    expect(stale.status).toBe(200);
    expect(stale.body).toMatchObject({ items: [{ name: "web-old", consumer: "pods", registry: "prod", verdict: "stale", heldVersionId: "v1", verdictSince: at(121).toISOString(), forSeconds: 59 * 60, restartable: true }], cursor: null });
    expect(names((await get("/v1/environments", { verdict: "doomed" })).body)).toEqual(["builds:1234"]);
    expect(names((await get("/v1/environments", { registry: "prod" })).body)).toEqual(["builds:1234", "web-new", "web-old"]);
    expect(names((await get("/v1/environments", { consumer: "pods" })).body)).toEqual(["web-new", "web-old"]);
    expect(names((await get("/v1/environments", { consumer: "pods", verdict: "current" })).body)).toEqual(["web-new"]);
    expect(names((await get("/v1/environments", { registry: "hub" })).body)).toEqual([]);
  });

  it("shows verdict counts on the registry, and newly bad environments as events and history", async () => {
    expect((await get("/v1/registries/prod")).body).toMatchObject({ environments: { counts: { current: 1, stale: 1, expired: 0, doomed: 1 }, discoveryFailures: 0 } });
    expect(events.map((e) => e.type === "Environment Stale" && `${e.detail.environmentId}:${e.detail.verdict}`).sort()).toEqual(
      [`${environmentId("builds", "builds:1234")}:doomed`, `${environmentId("pods", "team-a/web-old")}:stale`].sort(),
    );
    const history = (await get("/v1/registries/prod/history", { limit: "10" })).body as { items: { type: string; name?: string; from?: string | null; to?: string }[] };
    expect(history.items.filter((h) => h.type === "environment-verdict").map((h) => `${h.name}:${h.from}→${h.to}`).sort()).toEqual(["builds:1234:null→doomed", "web-new:null→current", "web-old:null→stale"]);
  });

  it("lists undeclared consumers next to declared ones, with where they were found", async () => {
    const body = (await get("/v1/consumers", { registry: "prod" })).body as { items: { id: string; declared: boolean; foundIn?: string; discovery?: { ok: boolean } | null }[] };
    expect(body.items.map((c) => `${c.id}:${c.declared}`)).toEqual(["pods:true", "builds:true", "arn:aws:codebuild:eu-west-1:123456789012:project/legacy:false"]);
    expect(body.items[2]?.foundIn).toBe("environment.registryCredential.credential");
    expect(body.items[0]?.discovery).toMatchObject({ ok: true, environments: 2 });
    expect(((await get("/v1/consumers", { state: "failed" })).body as { items: unknown[] }).items).toHaveLength(1);
  });

  it("keeps the verdict's start across scans, records what stopped, and clears history when it goes", async () => {
    now = at(200);
    target.running.set("pods", [pod("web-old", at(60))]);
    undeclaredFound = [];
    await service.scan();
    const stale = (await get("/v1/environments", { verdict: "stale" })).body as { items: { verdictSince: string; forSeconds: number }[] };
    expect(stale.items[0]).toMatchObject({ verdictSince: at(121).toISOString(), forSeconds: 79 * 60 });
    expect(names((await get("/v1/environments", { consumer: "pods" })).body)).toEqual(["web-old"]);
    const history = (await get("/v1/registries/prod/history", { limit: "5" })).body as { items: { type: string; name?: string; to?: string }[] };
    expect(history.items.find((h) => h.type === "environment-verdict")).toMatchObject({ name: "web-new", to: "gone" });
    expect(((await get("/v1/consumers", { registry: "prod" })).body as { items: unknown[] }).items).toHaveLength(2);
  });

  it("does not rewrite an environment that did not change, until its lastSeenAt is an hour old", async () => {
    const id = environmentId("pods", "team-a/web-old");
    const seen = (await ledger.environment("prod", id))?.lastSeenAt;
    now = at(201);
    await service.scan({ registryIds: ["prod"] });
    expect((await ledger.environment("prod", id))?.lastSeenAt).toEqual(seen);
    now = at(200 + 60);
    await service.scan({ registryIds: ["prod"] });
    expect((await ledger.environment("prod", id))?.lastSeenAt).toEqual(at(260));
    now = at(200);
  });

  it("records a discovery failure on its consumer and keeps what it saw last", async () => {
    now = at(205);
    target.failing.set("pods", new DeliveryError("unauthorized", "the cluster refused the token", { retryable: false }));
    const report = await service.scan({ registryIds: ["prod"] });
    target.failing.delete("pods");
    expect(report.discoveryFailures).toBe(1);
    expect(report.totals.stale).toBe(1);
    expect(names((await get("/v1/environments", { verdict: "stale" })).body)).toEqual(["web-old"]);
    const pods = ((await get("/v1/consumers", { registry: "prod" })).body as { items: { id: string; discovery: unknown }[] }).items.find((c) => c.id === "pods");
    expect(pods?.discovery).toMatchObject({ ok: false, error: { code: "unauthorized", message: "the cluster refused the token" } });
    expect(((await get("/v1/registries/prod/history", { limit: "1" })).body as { items: unknown[] }).items[0]).toMatchObject({ type: "discovery-failed", consumerId: "pods", code: "unauthorized" });
  });
});

describe("GET /v1/environments: paging and bad input", () => {
  it("pages by cursor inside a verdict and across registries without a filter", async () => {
    now = at(210);
    target.running.set("hub-pods", [pod("hub-a", at(5)), pod("hub-b", at(6))]);
    await service.scan();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = (await get("/v1/environments", { limit: "1", ...(cursor && { cursor }) })).body as { items: { name: string }[]; cursor: string | null };
      seen.push(...page.items.map((e) => e.name));
      cursor = page.cursor ?? undefined;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen.sort()).toEqual(["builds:1234", "hub-a", "hub-b", "web-old"]);
    const first = (await get("/v1/environments", { verdict: "current", limit: "1" })).body as { items: { name: string }[]; cursor: string };
    const second = (await get("/v1/environments", { verdict: "current", limit: "1", cursor: first.cursor })).body as { items: { name: string }[] };
    expect([first.items[0]?.name, second.items[0]?.name].sort()).toEqual(["hub-a", "hub-b"]);
  });

  it("answers 400 naming the field and 404 for unknown ids", async () => {
    expect(await get("/v1/environments", { verdict: "old" })).toMatchObject({ status: 400, body: { code: "invalid_input", message: expect.stringMatching(/^verdict: expected one of current, stale, expired, doomed/) } });
    expect(await get("/v1/environments", { limit: "500" })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^limit:/) } });
    expect(await get("/v1/environments", { cursor: "%%%" })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/cursor/) } });
    expect(await get("/v1/environments", { registry: "nope" })).toMatchObject({ status: 404, body: { code: "not_found", message: "registry nope not found" } });
    expect(await get("/v1/environments", { consumer: "nope" })).toMatchObject({ status: 404, body: { message: "consumer nope not found" } });
    expect(await get("/v1/environments", { consumer: "pods", registry: "hub" })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^consumer: pods belongs to registry prod/) } });
  });
});

describe("POST /v1/environments/{id}/restart", () => {
  const stale = environmentId("pods", "team-a/web-old");

  it("restarts a stale environment of a consumer that opted in", async () => {
    expect(await post(`/v1/environments/${stale}/restart`)).toEqual({ status: 202, body: { environment: stale, detail: "stopped team-a/web-old" } });
    expect(target.restarted).toEqual(["team-a/web-old"]);
    const history = (await get("/v1/registries/prod/history", { limit: "1" })).body as { items: unknown[] };
    expect(history.items[0]).toMatchObject({ type: "environment-restarted", consumerId: "pods", environmentId: stale, name: "web-old", detail: "stopped team-a/web-old" });
  });

  it("refuses without opt-in, when there is nothing to gain, and for unknown ids", async () => {
    expect(await post(`/v1/environments/${environmentId("builds", "builds:1234")}/restart`)).toMatchObject({ status: 403, body: { code: "restart_not_enabled" } });
    expect(await post(`/v1/environments/${environmentId("hub-pods", "team-a/hub-a")}/restart`)).toMatchObject({ status: 403 });
    expect(await post("/v1/environments/pods.0000000000000000/restart")).toMatchObject({ status: 404, body: { message: "environment pods.0000000000000000 not found" } });
    expect(await post("/v1/environments/nobody.1/restart")).toMatchObject({ status: 404 });
    expect(target.restarted).toEqual(["team-a/web-old"]);
  });

  it("refuses a current environment (409) and answers 501 where restart is not wired", async () => {
    target.running.set("pods", [pod("web-old", at(60)), pod("web-now", at(205))]);
    await service.scan({ registryIds: ["prod"] });
    expect(await post(`/v1/environments/${environmentId("pods", "team-a/web-now")}/restart`)).toMatchObject({ status: 409, body: { code: "not_stale" } });
    const bare = new AuditApi({ registries, consumers, ledger });
    expect(await bare.handle({ method: "POST", path: `/v1/environments/${stale}/restart`, query: {} })).toMatchObject({ status: 501, body: { code: "not_implemented" } });
  });

  it("passes on a provider's refusal with its meaning: gone is 404, impossible is 409", async () => {
    const refusing = new AuditApi({
      registries,
      consumers,
      ledger,
      actions: {
        refresh: async () => ({}),
        restart: async (_c, e) => {
          throw e.name === "web-old" ? new DeliveryError("restart_unsupported", "a bare pod would not come back", { retryable: false }) : new DeliveryError("not_found", "pod is gone", { retryable: false });
        },
      },
    });
    expect(await refusing.handle({ method: "POST", path: `/v1/environments/${stale}/restart`, query: {} })).toEqual({ status: 409, body: { code: "restart_unsupported", message: "a bare pod would not come back" } });
  });

  it("runs a scan on demand and names an unknown registry", async () => {
    expect(await post("/v1/environments/scan", { registry: "prod" })).toMatchObject({ status: 202, body: { registries: [{ registryId: "prod" }] } });
    expect(await post("/v1/environments/scan", { registry: "nope" })).toMatchObject({ status: 404 });
  });
});
