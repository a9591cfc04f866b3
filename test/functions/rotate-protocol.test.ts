import { DynamoLedger, HmacFingerprinter, SecretsManagerVault } from "@pullkeeper/aws";
import { type HtpasswdSource, htpasswdIssuer, parseConfig, type PullkeeperEvent, RotationService, ROTATION_STEPS, SecretValue, systemClock } from "@pullkeeper/core";
import { RandomPasswords, RegistryV2Verifier } from "@pullkeeper/registry";
import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { createRotateHandler } from "../../functions/rotate.js";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";
import { BLUE, GREEN, useHtpasswdRegistry } from "../support/htpasswd-registry.js";
import { lambdaContext } from "../support/lambda.js";

/**
 * The rotation function driven the way Secrets Manager drives it after RotateSecret: the
 * service first labels a new VersionId AWSPENDING with no value, then invokes the function once
 * per step with that VersionId as ClientRequestToken and the rotation's RotationToken in every
 * event. The registry is a real docker-registry reading the htpasswd file the steps write; the
 * ledger is DynamoDB (dynalite).
 */

const context = lambdaContext("rotate");
const SECRET = "pullkeeper/local-registry";
const BLUE_PASSWORD = "blue-Initial-Password-6d2e";

const world = useHtpasswdRegistry("pullkeeper-rotate-protocol-");

let sm: FakeSecretsManager;
let arn: string;
let events: PullkeeperEvent[];
let handler: ReturnType<typeof createRotateHandler>;

beforeEach(async () => {
  await world.htpasswd.setPassword(BLUE, new SecretValue(BLUE_PASSWORD));
  sm = new FakeSecretsManager();
  arn = sm.seed(SECRET, JSON.stringify({ username: BLUE, password: BLUE_PASSWORD }));
  events = [];
  const config = parseConfig(`registries:\n${world.registryYaml("local", SECRET)}`);
  const service = new RotationService({
    vault: new SecretsManagerVault(sm.client),
    verifier: new RegistryV2Verifier(),
    ledger: new DynamoLedger({ client: world.dynamo.client, tableName: await world.dynamo.createLedgerTable() }),
    bus: { publish: async (e) => void events.push(...e) },
    fingerprints: new HmacFingerprinter(Buffer.alloc(32, 7)),
    clock: systemClock,
    issuer: (registry) => htpasswdIssuer((registry.source as HtpasswdSource).users, new RandomPasswords(), world.htpasswd),
    newToken: randomUUID,
  });
  handler = createRotateHandler(async () => ({ config, service }));
});

/** One invocation, as Secrets Manager sends it: the secret's ARN, the version's token, the RotationToken. */
const invoke = (Step: string, token: string, rotationToken: string) => handler({ SecretId: arn, ClientRequestToken: token, Step, RotationToken: rotationToken }, context);

describe("functions/rotate under Secrets Manager's rotation protocol", () => {
  it("completes the valueless AWSPENDING version RotateSecret made, with the RotationToken, and finishes with it AWSCURRENT", async () => {
    const oldId = Object.keys(sm.stages(SECRET))[0] as string;
    const { token, rotationToken } = sm.startRotation(arn);
    expect(sm.stages(SECRET)[token]).toEqual(["AWSPENDING"]);

    await invoke("createSecret", token, rotationToken);
    expect(sm.rotationTokensWritten(SECRET, token)).toEqual([rotationToken]);
    expect(sm.stages(SECRET)).toEqual({ [oldId]: ["AWSCURRENT"], [token]: ["AWSPENDING"] });
    const pending = await new SecretsManagerVault(sm.client).read(SECRET, { stage: "AWSPENDING" });
    expect(pending.versionId).toBe(token);
    expect(pending.credential.username).toBe(GREEN);

    await invoke("setSecret", token, rotationToken);
    await invoke("testSecret", token, rotationToken);
    await invoke("finishSecret", token, rotationToken);

    expect(sm.stages(SECRET)).toEqual({ [oldId]: ["AWSPREVIOUS"], [token]: ["AWSCURRENT"] });
    const current = await new SecretsManagerVault(sm.client).read(SECRET, { stage: "AWSCURRENT" });
    expect(current.versionId).toBe(token);
    expect(current.credential.password.equals(pending.credential.password)).toBe(true);
    expect(await world.basic(GREEN, current.credential.password.reveal())).toBe(200);
    // One value written, once, with the rotation's token; the rest were label moves.
    expect(sm.writes.filter((w) => w.command === "PutSecretValue")).toEqual([{ command: "PutSecretValue", secretId: SECRET, versionId: token, rotationToken }]);
    expect(events.map((e) => e.type)).toEqual(["Credential Rotated"]);
    expect(JSON.stringify(events)).not.toContain(current.credential.password.reveal());
  });

  it("survives Secrets Manager invoking every step twice: one value written, with the RotationToken", async () => {
    const oldId = Object.keys(sm.stages(SECRET))[0] as string;
    const { token, rotationToken } = sm.startRotation(arn);
    for (const step of ROTATION_STEPS) {
      await invoke(step, token, rotationToken);
      await invoke(step, token, rotationToken);
    }
    expect(sm.rotationTokensWritten(SECRET, token)).toEqual([rotationToken]);
    expect(sm.stages(SECRET)).toEqual({ [oldId]: ["AWSPREVIOUS"], [token]: ["AWSCURRENT"] });
    const current = await new SecretsManagerVault(sm.client).read(SECRET, { stage: "AWSCURRENT" });
    expect(current.credential.username).toBe(GREEN);
    expect(await world.basic(GREEN, current.credential.password.reveal())).toBe(200);
  });

  it("fails createSecret, writing nothing, when the event's RotationToken is not the rotation's", async () => {
    const { token } = sm.startRotation(arn);
    const wrong = randomUUID();
    const error = await invoke("createSecret", token, wrong).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "access_denied" });
    // The API reference marks RotationToken sensitive: it is not quoted back.
    expect((error as Error).message).not.toContain(wrong);
    expect(sm.writes).toEqual([]);
    expect(sm.stages(SECRET)[token]).toEqual(["AWSPENDING"]);
  });
});
