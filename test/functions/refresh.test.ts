import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { DynamoLedger } from "@pullkeeper/aws";
import { createRefreshHandler, runtimeFromEnvironment } from "../../functions/refresh.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";
import { fixture } from "../support/fixtures.js";
import { type LocalServer, startServer } from "../support/http.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { lambdaContext } from "../support/lambda.js";
import { writeShippedConfig } from "../support/shipped-config.js";

/**
 * The refresh function end to end: its own middy chain and adapters, built from the environment
 * the stack sets. DynamoDB is dynalite, the registry a real docker-registry, ECR a loopback
 * server speaking its wire protocol; Secrets Manager and EventBridge stand in at the SDK client.
 */

const HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const SECRET = "pullkeeper/prod-ecr";
const scheduled = fixture<Record<string, unknown>>("aws-events-scheduler/scheduled-event.aws-lambda-docs.verbatim.json");
const scheduledGo = fixture<Record<string, unknown>>("aws-events-scheduler/scheduled-event.aws-lambda-go-test.verbatim.json");
const context = lambdaContext("refresh", { awsRequestId: "req-1", invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:refresh" });

let dynamo: EmbeddedDynamo;
let registry: TestRegistry;
let ecr: LocalServer;
let tokenPassword = "";
const saved = { ...process.env };

beforeAll(async () => {
  dynamo = await startDynalite();
  registry = await startRegistry({ AWS: "placeholder-password" });
  ecr = await startServer((_req, res) => {
    res.setHeader("content-type", "application/x-amz-json-1.1");
    res.end(JSON.stringify({ authorizationData: [{ authorizationToken: Buffer.from(`AWS:${tokenPassword}`).toString("base64"), expiresAt: Date.now() / 1000 + 12 * 3600, proxyEndpoint: `https://${HOST}` }] }));
  });
});
afterAll(async () => {
  await Promise.all([dynamo.stop(), registry.stop(), ecr.close()]);
});

let sm: FakeSecretsManager;
let bus: ReturnType<typeof mockClient>;
let tableName: string;
let output: string;

beforeEach(async (ctx) => {
  tokenPassword = `ecr-token-${ctx.task.id}-${Math.random().toString(36).slice(2)}`;
  await registry.setUsers({ AWS: tokenPassword });
  sm = new FakeSecretsManager({ everyClient: true });
  sm.seed(SECRET, JSON.stringify({ username: "AWS", password: "initial-password" }));
  bus = mockClient(EventBridgeClient);
  bus.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: "e" })) }));
  tableName = await dynamo.createLedgerTable();
  const dir = mkdtempSync(join(tmpdir(), "pullkeeper-refresh-"));
  writeShippedConfig(
    join(dir, "pullkeeper.json"),
    `registries:
  - id: prod-ecr
    host: ${HOST}
    kind: ecr
    source: { type: ecr-token, account: "123456789012", region: eu-west-1 }
    secret: ${SECRET}
    verify: { endpoint: "${registry.url}" }
`,
  );
  Object.assign(process.env, {
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_ECR: ecr.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    PULLKEEPER_CONFIG: join(dir, "pullkeeper.json"),
    PULLKEEPER_TABLE: tableName,
    PULLKEEPER_BUS: "pullkeeper-test",
    PULLKEEPER_FINGERPRINT_KEY_SECRET: "pullkeeper/fingerprint-key",
    POWERTOOLS_DEV: "true",
  });
  sm.seed("pullkeeper/fingerprint-key");
  ecr.received.length = 0;
  output = "";
  const capture = (chunk: unknown) => {
    output += String(chunk);
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  for (const method of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => capture(`${args.map(String).join(" ")}\n`));
});
afterEach(() => {
  vi.restoreAllMocks();
  sm.mock.restore();
  bus.restore();
  process.env = { ...saved };
});

const current = () => {
  const stages = sm.stages(SECRET);
  return Object.entries(stages).find(([, s]) => s.includes("AWSCURRENT"))?.[0];
};

describe("functions/refresh", () => {
  it("mints, verifies against the registry, promotes, records and announces; the next run finds it fresh", async () => {
    const handler = createRefreshHandler(runtimeFromEnvironment);
    const report = (await handler(scheduled, context)) as { results: { registryId: string; outcome: string; versionId?: string }[]; earliestExpiry?: string };
    expect(report.results).toEqual([expect.objectContaining({ registryId: "prod-ecr", outcome: "refreshed" })]);
    const versionId = report.results[0]?.versionId;
    expect(current()).toBe(versionId);
    expect(sm.stages(SECRET)[versionId as string]).toEqual(["AWSCURRENT"]);

    const ledger = new DynamoLedger({ client: dynamo.client, tableName });
    const state = await ledger.registryState("prod-ecr");
    expect(state?.current).toMatchObject({ versionId, verification: { status: "ok" } });
    expect(state?.secretArn).toMatch(/^arn:aws:secretsmanager:.*:secret:pullkeeper\/prod-ecr-/);

    const entries = bus.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ Source: "pullkeeper", DetailType: "Credential Rotated", EventBusName: "pullkeeper-test" });
    expect(JSON.parse(entries[0]?.Detail ?? "{}")).toMatchObject({ registryId: "prod-ecr", versionId, secretArn: state?.secretArn });

    const again = (await handler(scheduledGo, context)) as { results: { outcome: string }[] };
    expect(again.results[0]?.outcome).toBe("fresh");
    expect(ecr.received).toHaveLength(1);
  });

  it("never promotes a token the registry refuses", async () => {
    await registry.setUsers({ AWS: "some-other-password" });
    const before = current();
    const report = (await createRefreshHandler(runtimeFromEnvironment)(scheduled, context)) as { results: { outcome: string; code?: string }[] };
    expect(report.results[0]).toMatchObject({ outcome: "failed", code: "verification_unauthorized" });
    expect(current()).toBe(before);
    // The only write is the fingerprint key's creation on first use.
    expect(sm.writes.filter((w) => w.secretId === SECRET)).toEqual([]);
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(await new DynamoLedger({ client: dynamo.client, tableName }).registryState("prod-ecr")).toBeUndefined();
  });

  it("rejects a malformed event with the field named, before touching anything", async () => {
    const runtime = vi.fn(runtimeFromEnvironment);
    const handler = createRefreshHandler(runtime);
    await expect(handler({ ...scheduled, detail: { registryIds: "prod-ecr" } }, context)).rejects.toThrow(/registryIds/);
    await expect(handler({ ...scheduled, detail: { forse: true } }, context)).rejects.toThrow(/forse/);
    const { "detail-type": _dropped, ...noDetailType } = scheduled;
    await expect(handler(noDetailType, context)).rejects.toThrow(/detail-type/);
    expect(runtime).not.toHaveBeenCalled();
    expect(sm.writes).toEqual([]);
    expect(ecr.received).toHaveLength(0);
  });

  it("fails on a bad config with the path in the file, and writes nothing", async () => {
    writeShippedConfig(process.env.PULLKEEPER_CONFIG as string, `registries:\n  - id: prod-ecr\n    host: ${HOST}\n    kind: ecr\n    source: { type: ecr-token, account: "12345", region: eu-west-1 }\n    secret: ${SECRET}\n`);
    await expect(createRefreshHandler(runtimeFromEnvironment)(scheduled, context)).rejects.toThrow(/registries\[0\]\.source\.account: expected a 12-digit AWS account ID/);
    expect(sm.writes).toEqual([]);
    expect(ecr.received).toHaveLength(0);
  });

  it("never logs the token, not even when someone logs an object that holds it", async () => {
    const { observability } = await import("@pullkeeper/aws/lambda");
    const { credential } = await import("@pullkeeper/core");
    await createRefreshHandler(runtimeFromEnvironment)(scheduled, context);
    const { logger } = observability("leak-check");
    logger.info("careless", { credential: credential("AWS", tokenPassword), raw: { username: "AWS", password: tokenPassword }, SecretString: JSON.stringify({ password: tokenPassword }), authorizationToken: tokenPassword });
    await registry.setUsers({ AWS: "refused" });
    await createRefreshHandler(runtimeFromEnvironment)({ ...scheduled, detail: { force: true } }, context);
    expect(output).toContain("refresh finished");
    expect(output).toContain("careless");
    expect(output).toContain("[REDACTED]");
    expect(output).not.toContain(tokenPassword);
    expect(output).not.toContain(Buffer.from(`AWS:${tokenPassword}`).toString("base64"));
  });
});
