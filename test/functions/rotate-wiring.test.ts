import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { SecretsManagerVault } from "@pullkeeper/aws";
import { ROTATION_STEPS, SecretValue } from "@pullkeeper/core";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createRotateHandler, runtimeFromEnvironment } from "../../functions/rotate.js";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";
import { BLUE, GREEN, useHtpasswdRegistry } from "../support/htpasswd-registry.js";
import { lambdaContext } from "../support/lambda.js";
import { writeShippedConfig } from "../support/shipped-config.js";

/**
 * The rotation function with its own wiring (rotationFromEnvironment, built from the environment
 * the stack sets), which leaves the delivery targets out: a rotation that needs the idle user's
 * slot under `revoke.whenInUse: revoke` still revokes the previous credential in the htpasswd file,
 * records it and announces it. DynamoDB is dynalite, the registry a real docker-registry;
 * Secrets Manager and EventBridge stand in at the SDK client.
 */

const context = lambdaContext("rotate");
const SECRET = "pullkeeper/wired-registry";
const BLUE_PASSWORD = "blue-Initial-Password-0b41";

const world = useHtpasswdRegistry("pullkeeper-rotate-wiring-");
const saved = { ...process.env };

beforeAll(() => world.htpasswd.setPassword(BLUE, new SecretValue(BLUE_PASSWORD)));

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
  writeShippedConfig(join(world.dir, "pullkeeper.json"), `registries:\n${world.registryYaml("wired", SECRET)}    revoke: { whenInUse: revoke }\n`);
  Object.assign(process.env, {
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_DYNAMODB: world.dynamo.endpoint,
    PULLKEEPER_CONFIG: join(world.dir, "pullkeeper.json"),
    PULLKEEPER_TABLE: await world.dynamo.createLedgerTable(),
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
    expect(await world.basic(BLUE, BLUE_PASSWORD)).toBe(200);

    const second = await rotate();
    const blue = await vault.read(SECRET, { stage: "AWSCURRENT" });
    expect(blue).toMatchObject({ versionId: second, credential: { username: BLUE } });
    expect(await world.basic(BLUE, blue.credential.password.reveal())).toBe(200);
    expect(await world.basic(BLUE, BLUE_PASSWORD)).toBe(401);
    expect(await world.basic(GREEN, green.credential.password.reveal())).toBe(200);
    expect(published.map((e) => e.DetailType)).toEqual(["Credential Rotated", "Credential Revoked", "Credential Rotated"]);
    expect(JSON.parse(published[1]?.Detail ?? "{}")).toMatchObject({ registryId: "wired", reason: "rotation", currentVersionId: first });
  });
});
