import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { SecretsManagerVault } from "@pullkeeper/aws";
import { ROTATION_STEPS, SecretValue } from "@pullkeeper/core";
import { HtpasswdFile } from "@pullkeeper/registry";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createRotateHandler, runtimeFromEnvironment } from "../../functions/rotate.js";
import { type RunningRegistry, startDockerRegistry } from "../../packages/local/src/registry/docker-registry.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";

/**
 * The rotation function with its own wiring (rotationFromEnvironment, built from the environment
 * the stack sets), which leaves the delivery targets out: a rotation that needs the idle user's
 * slot under `revoke.whenInUse: revoke` still revokes the previous credential in the htpasswd file,
 * records it and announces it. DynamoDB is dynalite, the registry a real docker-registry;
 * Secrets Manager and EventBridge stand in at the SDK client.
 */

const context = { functionName: "rotate", awsRequestId: "req", getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
const SECRET = "pullkeeper/wired-registry";
const BLUE = "pullkeeper-blue";
const GREEN = "pullkeeper-green";
const BLUE_PASSWORD = "blue-Initial-Password-0b41";

let dir: string;
let registry: RunningRegistry;
let dynamo: EmbeddedDynamo;
const saved = { ...process.env };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pullkeeper-rotate-wiring-"));
  await writeFile(join(dir, "htpasswd"), "", { mode: 0o600 });
  await new HtpasswdFile(join(dir, "htpasswd"), { cost: 5 }).setPassword(BLUE, new SecretValue(BLUE_PASSWORD));
  registry = await startDockerRegistry({ dir: join(dir, "registry"), htpasswdPath: join(dir, "htpasswd") });
  dynamo = await startDynalite();
});
afterAll(async () => {
  await Promise.all([registry.stop(), dynamo.stop()]);
  await rm(dir, { recursive: true, force: true });
});

let sm: FakeSecretsManager;
let bus: ReturnType<typeof mockClient>;
let published: { DetailType?: string; Detail?: string }[];

beforeEach(async () => {
  sm = new FakeSecretsManager({ everyClient: true });
  bus = mockClient(EventBridgeClient);
  published = [];
  bus.on(PutEventsCommand).callsFake((input: { Entries: { DetailType?: string; Detail?: string }[] }) => {
    published.push(...input.Entries);
    return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: "e" })) };
  });
  await writeFile(
    join(dir, "pullkeeper.yaml"),
    `registries:
  - id: wired
    host: ${registry.host}
    kind: generic
    source: { type: htpasswd, file: ${join(dir, "htpasswd")}, users: [${BLUE}, ${GREEN}], rotation: rate(1 day) }
    secret: ${SECRET}
    verify: { endpoint: "${registry.url}" }
    revoke: { whenInUse: revoke }
`,
  );
  Object.assign(process.env, {
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    PULLKEEPER_CONFIG: join(dir, "pullkeeper.yaml"),
    PULLKEEPER_TABLE: await dynamo.createLedgerTable(),
    PULLKEEPER_BUS: "pullkeeper-test",
    PULLKEEPER_FINGERPRINT_KEY: Buffer.alloc(32, 3).toString("base64"),
    POWERTOOLS_DEV: "true",
  });
  // The function logs every step; the test reads the outcome from the stand-ins.
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(console, "info").mockImplementation(() => undefined);
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  sm.mock.restore();
  bus.restore();
  process.env = { ...saved };
});

const basic = async (username: string, password: string) =>
  (await fetch(`${registry.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` } })).status;

describe("functions/rotate with the wiring it deploys with", () => {
  it("rotates twice; the second rotation revokes the previous credential to free its user (revoke.whenInUse: revoke)", async () => {
    const arn = sm.seed(SECRET, JSON.stringify({ username: BLUE, password: BLUE_PASSWORD }));
    const handler = createRotateHandler(runtimeFromEnvironment);
    const rotate = async () => {
      const { token, rotationToken } = sm.startRotation(arn);
      for (const Step of ROTATION_STEPS) await handler({ SecretId: arn, ClientRequestToken: token, Step, RotationToken: rotationToken }, context);
      return token;
    };
    const vault = new SecretsManagerVault(sm.client);

    const first = await rotate();
    const green = await vault.read(SECRET, { stage: "AWSCURRENT" });
    expect(green).toMatchObject({ versionId: first, credential: { username: GREEN } });
    expect(await basic(BLUE, BLUE_PASSWORD)).toBe(200);

    const second = await rotate();
    const blue = await vault.read(SECRET, { stage: "AWSCURRENT" });
    expect(blue).toMatchObject({ versionId: second, credential: { username: BLUE } });
    expect(await basic(BLUE, blue.credential.password.reveal())).toBe(200);
    expect(await basic(BLUE, BLUE_PASSWORD)).toBe(401);
    expect(await basic(GREEN, green.credential.password.reveal())).toBe(200);
    expect(published.map((e) => e.DetailType)).toEqual(["Credential Rotated", "Credential Revoked", "Credential Rotated"]);
    expect(JSON.parse(published[1]?.Detail ?? "{}")).toMatchObject({ registryId: "wired", reason: "rotation", currentVersionId: first });
  });
});
