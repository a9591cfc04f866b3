import { DynamoLedger } from "@pullkeeper/aws";
import { AuditScanService, type Registry } from "@pullkeeper/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createAuditScanHandler } from "../../functions/audit-scan.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { fixture } from "../support/fixtures.js";
import { ScriptedTarget } from "../support/scripted-target.js";
import { lambdaContext } from "../support/lambda.js";

/** functions/audit-scan.ts: its middy chain, event validation and the metrics the alarms watch. */

const context = lambdaContext("pullkeeper-audit-scan", { awsRequestId: "req-1" });
const scheduled = fixture<Record<string, unknown>>("aws-events-scheduler/scheduled-event.aws-lambda-docs.verbatim.json");

const registries: Registry[] = [
  { id: "prod", host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", kind: "ecr", source: { type: "ecr-token", account: "123456789012", region: "eu-west-1" }, secret: "pullkeeper/prod", verify: {} },
  { id: "hub", host: "registry-1.docker.io", kind: "dockerhub", source: { type: "managed-secret" }, secret: "pullkeeper/hub", verify: {} },
];

let dynamo: EmbeddedDynamo;
let ledger: DynamoLedger;
let output = "";
const target = new ScriptedTarget();
const now = new Date("2026-11-23T20:00:00Z");

beforeAll(async () => {
  dynamo = await startDynalite();
  ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
  const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-AbCdEf";
  const createdAt = new Date("2026-11-23T10:00:00Z");
  await ledger.recordCurrentVersion(
    { registryId: "prod", host: registries[0]?.host as string, kind: "ecr", sourceType: "ecr-token", secretArn },
    { registryId: "prod", secretArn, versionId: "v9", fingerprint: "f", createdAt, expiresAt: new Date("2026-11-23T22:00:00Z"), verification: { status: "ok", detail: "", checkedAt: createdAt } },
  );
  await ledger.appendHistory({ type: "delivered", registryId: "prod", at: new Date("2026-11-23T10:01:00Z"), consumerId: "pods", versionId: "v9", status: "verified" });
  // One pod from long before any delivery on record: its ECR token (12 h) is dead.
  target.running.set("pods", [{ externalId: "ns/old", kind: "kubernetes-pod", name: "old", startedAt: new Date("2026-11-23T02:00:00Z"), status: "Running" }]);
  target.failing.set("hub-pods", new Error("cluster unreachable"));
});
afterAll(() => dynamo.stop());

beforeEach(() => {
  output = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => ((output += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

const handler = createAuditScanHandler(async () =>
  new AuditScanService({
    registries,
    consumers: [
      { id: "pods", registryId: "prod", target: { kind: "scripted" } },
      { id: "hub-pods", registryId: "hub", target: { kind: "scripted" } },
    ],
    targets: new Map([["scripted", target]]),
    ledger,
    bus: { publish: async () => undefined },
    clock: { now: () => now },
    clockSkewSeconds: 5,
  }),
);

/** The EMF documents Powertools printed, by metric name. */
function metrics(): { name: string; value: unknown; dimensions: string[][]; doc: Record<string, unknown> }[] {
  return output
    .split("\n")
    .filter((line) => line.includes('"_aws"'))
    .flatMap((line) => {
      const doc = JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
      return doc._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => ({ name: x.Name, value: doc[x.Name], dimensions: m.Dimensions, doc })));
    });
}

describe("functions/audit-scan", () => {
  it("scans on the scheduled event and emits the alarms' totals and per-registry counts", async () => {
    const report = (await handler(scheduled, context)) as { totals: Record<string, number>; discoveryFailures: number };
    expect(report.totals).toEqual({ current: 0, stale: 0, expired: 1, doomed: 0 });
    expect(report.discoveryFailures).toBe(1);
    const emitted = metrics();
    const total = (name: string) => emitted.find((m) => m.name === name && m.doc.registry === undefined);
    expect(total("ExpiredEnvironments")).toMatchObject({ value: 1, dimensions: [["service"]], doc: { service: "pullkeeper-audit-scan" } });
    expect(total("DiscoveryFailures")?.value).toBe(1);
    expect(total("MinutesToEarliestExpiry")?.value).toBe(120);
    expect(emitted.find((m) => m.name === "ExpiredEnvironments" && m.doc.registry === "prod")).toMatchObject({ value: 1, dimensions: [["service", "registry"]] });
    // Every service-level document is a total: per-registry values never lose their dimension.
    expect(emitted.filter((m) => m.name === "ExpiredEnvironments" && m.doc.registry === undefined)).toHaveLength(1);
    expect(((await ledger.discoveries("hub")).items[0])).toMatchObject({ ok: false, error: { code: "discovery_failed", message: "cluster unreachable" } });
  });

  it("scans only the registries asked for, and rejects a malformed event naming the field", async () => {
    const report = (await handler({ ...scheduled, detail: { registryIds: ["prod"] } }, context)) as { registries: readonly { registryId: string }[] };
    expect(report.registries.map((r) => r.registryId)).toEqual(["prod"]);
    await expect(handler({ ...scheduled, detail: { registryIds: "prod" } }, context)).rejects.toThrow(/detail\.registryIds/);
    await expect(handler({ ...scheduled, detail: { registryIds: [] } }, context)).rejects.toThrow(/detail\.registryIds/);
  });
});
