import { DynamoLedger, HmacFingerprinter, SecretsManagerVault } from "@pullkeeper/aws";
import { type PullkeeperEvent, type RegistryAccounts, type RotatedRegistry, RotationService, type RotationStep, systemClock } from "@pullkeeper/core";
import { HtpasswdFile, RandomPasswords, RegistryV2Verifier } from "@pullkeeper/targets";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningRegistry, startDockerRegistry } from "../../packages/local/src/registry/docker-registry.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";

/** Zero-downtime rotation of a real docker-registry's htpasswd login, through the four rotation steps. */

let dir: string;
let registry: RunningRegistry;
let dynamo: EmbeddedDynamo;
let htpasswd: HtpasswdFile;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pullkeeper-rotation-"));
  await writeFile(join(dir, "htpasswd"), "", { mode: 0o600 });
  htpasswd = new HtpasswdFile(join(dir, "htpasswd"), { cost: 5 });
  registry = await startDockerRegistry({ dir: join(dir, "registry"), htpasswdPath: htpasswd.path });
  dynamo = await startDynalite();
});
afterAll(async () => {
  await Promise.all([registry.stop(), dynamo.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const basic = async (username: string, password: string) =>
  (await fetch(`${registry.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` } })).status;

let sm: FakeSecretsManager;
let events: PullkeeperEvent[];
let tableName: string;
let secret: string;
let target: RotatedRegistry;

beforeEach(async () => {
  sm = new FakeSecretsManager();
  secret = `pullkeeper/local-${randomUUID()}`;
  sm.seed(secret);
  events = [];
  tableName = await dynamo.createLedgerTable();
  target = {
    id: "local",
    host: registry.host,
    kind: "generic",
    source: { type: "htpasswd", file: htpasswd.path, users: ["pullkeeper-blue", "pullkeeper-green"], rotation: "rate(1 day)" },
    secret,
    verify: { endpoint: registry.url },
  };
});

function service(options: { afterStep?: (step: RotationStep) => void; accounts?: RegistryAccounts } = {}) {
  return new RotationService({
    vault: new SecretsManagerVault(sm.client),
    verifier: new RegistryV2Verifier(),
    ledger: new DynamoLedger({ client: dynamo.client, tableName }),
    bus: { publish: async (e) => void events.push(...e) },
    fingerprints: new HmacFingerprinter(Buffer.alloc(32, 3)),
    clock: systemClock,
    passwords: new RandomPasswords(),
    accounts: () => options.accounts ?? htpasswd,
    newToken: randomUUID,
    ...(options.afterStep && { afterStep: options.afterStep }),
  });
}

const vault = () => new SecretsManagerVault(sm.client);
const versions = () => Object.keys(sm.stages(secret)).length;

describe("htpasswd rotation against a real docker-registry", () => {
  it("alternates users: the new login gets 200, the retired one 401, and the ledger and bus hear of it", async () => {
    const first = await service().rotate(target);
    const one = (await vault().read(secret, { stage: "AWSCURRENT" })).credential;
    expect(first.resumed).toBe(false);
    expect(one.username).toBe("pullkeeper-blue");
    expect(await basic(one.username, one.password.reveal())).toBe(200);

    await service().rotate(target);
    const two = (await vault().read(secret, { stage: "AWSCURRENT" })).credential;
    expect(two.username).toBe("pullkeeper-green");
    expect(await basic(two.username, two.password.reveal())).toBe(200);
    expect(await basic(one.username, one.password.reveal())).toBe(401);
    expect(await htpasswd.users()).toEqual(["pullkeeper-green"]);

    const stages = sm.stages(secret);
    expect(Object.values(stages).filter((s) => s.includes("AWSPENDING"))).toEqual([]);
    const state = await new DynamoLedger({ client: dynamo.client, tableName }).registryState("local");
    expect(state?.current?.versionId).toBe((await vault().read(secret, { stage: "AWSCURRENT" })).versionId);
    expect(events.map((e) => e.type)).toEqual(["Credential Rotated", "Credential Rotated"]);
    expect(JSON.stringify(events)).not.toContain(two.password.reveal());
  });

  for (const crashAfter of ["createSecret", "setSecret", "testSecret"] as const) {
    it(`finishes a rotation interrupted after ${crashAfter} without a second new version`, async () => {
      await service().rotate(target);
      const before = (await vault().read(secret, { stage: "AWSCURRENT" })).credential;
      const crashing = service({
        afterStep: (step) => {
          if (step === crashAfter) throw new Error(`simulated crash after ${step}`);
        },
      });
      await expect(crashing.rotate(target)).rejects.toThrow(/simulated crash/);
      expect(await basic(before.username, before.password.reveal())).toBe(200);
      const count = versions();

      const resumed = await service().rotate(target);
      expect(resumed.resumed).toBe(true);
      expect(versions()).toBe(count);
      const after = await vault().read(secret, { stage: "AWSCURRENT" });
      expect(after.versionId).toBe(resumed.versionId);
      expect(await basic(after.credential.username, after.credential.password.reveal())).toBe(200);
      expect(await basic(before.username, before.password.reveal())).toBe(401);
    });
  }

  it("never promotes a password the registry refuses", async () => {
    await service().rotate(target);
    const before = await vault().read(secret, { stage: "AWSCURRENT" });
    const broken: RegistryAccounts = { setPassword: async () => undefined, retire: async () => undefined };
    await expect(service({ accounts: broken }).rotate(target)).rejects.toMatchObject({ code: "verification_unauthorized" });
    expect((await vault().read(secret, { stage: "AWSCURRENT" })).versionId).toBe(before.versionId);
    expect(await basic(before.credential.username, before.credential.password.reveal())).toBe(200);
  });
});
