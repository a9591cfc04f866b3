import { DynamoLedger, HmacFingerprinter, SecretsManagerVault } from "@pullkeeper/aws";
import {
  credential,
  type CredentialIssuer,
  type HtpasswdSource,
  htpasswdIssuer,
  htpasswdRevoker,
  LedgerRepair,
  type PullkeeperEvent,
  type RegistryAccounts,
  RevocationService,
  RollbackService,
  type RotatedRegistry,
  ROTATION_STEPS,
  RotationService,
  type RotationStep,
  systemClock,
} from "@pullkeeper/core";
import { RandomPasswords, RegistryV2Verifier } from "@pullkeeper/registry";
import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";
import { useHtpasswdRegistry } from "../support/htpasswd-registry.js";

/**
 * The credential lifecycle of a real docker-registry's htpasswd login: rotation through the four
 * steps, revocation of the previous user only once nothing uses it, the per-registry lock, repair
 * after a crash inside finishSecret, and rollback.
 */

const world = useHtpasswdRegistry("pullkeeper-rotation-");

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
  tableName = await world.dynamo.createLedgerTable();
  // Each test starts with no users, changed the way the registry notices (never truncated in place).
  for (const user of await world.htpasswd.users()) await world.htpasswd.retire(user);
  target = {
    id: "local",
    host: world.registry.host,
    kind: "generic",
    source: { type: "htpasswd", file: world.htpasswd.path, users: ["pullkeeper-blue", "pullkeeper-green"], rotation: "rate(1 day)" },
    secret,
    verify: { endpoint: world.registry.url },
  };
});

const ledger = () => new DynamoLedger({ client: world.dynamo.client, tableName });
const vault = () => new SecretsManagerVault(sm.client);
const adapters = () => ({
  vault: vault(),
  verifier: new RegistryV2Verifier(),
  ledger: ledger(),
  bus: { publish: async (e: readonly PullkeeperEvent[]) => void events.push(...e) },
  fingerprints: new HmacFingerprinter(Buffer.alloc(32, 3)),
  clock: systemClock,
});
const revocation = (reg: RotatedRegistry = target) =>
  new RevocationService({ ...adapters(), registries: [reg], consumers: [], targets: new Map(), revoker: () => htpasswdRevoker(world.htpasswd), repair: new LedgerRepair(adapters()) });

function service(options: { afterStep?: (step: RotationStep, token: string) => void | Promise<void>; afterPromote?: () => void; accounts?: RegistryAccounts } = {}) {
  return new RotationService({
    ...adapters(),
    issuer: (registry) => htpasswdIssuer((registry.source as HtpasswdSource).users, new RandomPasswords(), options.accounts ?? world.htpasswd),
    revocation: revocation(),
    newToken: randomUUID,
    ...(options.afterStep && { afterStep: options.afterStep }),
    ...(options.afterPromote && { afterPromote: options.afterPromote }),
  });
}

const versions = () => Object.keys(sm.stages(secret)).length;
const current = async () => (await vault().read(secret, { stage: "AWSCURRENT" })).credential;
const opens = async (c: Awaited<ReturnType<typeof current>>) => world.basic(c.username, c.password.reveal());

describe("htpasswd rotation against a real docker-registry", () => {
  it("alternates users; the previous login keeps working until revocation retires it, once", async () => {
    const first = await service().rotate(target);
    const one = await current();
    expect(first.resumed).toBe(false);
    expect(one.username).toBe("pullkeeper-blue");
    expect(await opens(one)).toBe(200);

    await service().rotate(target);
    const two = await current();
    expect(two.username).toBe("pullkeeper-green");
    expect(await opens(two)).toBe(200);
    // Whoever loaded the previous credential can still pull: nothing is revoked at finishSecret.
    expect(await opens(one)).toBe(200);
    expect(await world.htpasswd.users()).toEqual(["pullkeeper-blue", "pullkeeper-green"]);

    // No consumers and nothing running: the previous user goes at the first check, and only once.
    const result = await revocation().check(target);
    expect(result).toMatchObject({ outcome: "revoked", reason: "unused" });
    expect(await opens(one)).toBe(401);
    expect(await opens(two)).toBe(200);
    expect(await revocation().check(target)).toMatchObject({ outcome: "nothing" });
    expect(events.map((e) => e.type)).toEqual(["Credential Rotated", "Credential Rotated", "Credential Revoked"]);

    const stages = sm.stages(secret);
    expect(Object.values(stages).filter((s) => s.includes("AWSPENDING"))).toEqual([]);
    const state = await ledger().registryState("local");
    expect(state?.current?.versionId).toBe((await vault().read(secret, { stage: "AWSCURRENT" })).versionId);
    const previous = await ledger().version("local", (await ledger().registryState("local"))?.previousVersionId ?? "none");
    expect(previous?.revoked).toMatchObject({ reason: "unused" });
    expect(previous?.supersededAt).toBeInstanceOf(Date);
    expect(JSON.stringify(events)).not.toContain(two.password.reveal());
  });

  for (const crashAfter of ["createSecret", "setSecret", "testSecret"] as const) {
    it(`finishes a rotation interrupted after ${crashAfter} without a second new version`, async () => {
      await service().rotate(target);
      const before = await current();
      const crashing = service({
        afterStep: (step) => {
          if (step === crashAfter) throw new Error(`simulated crash after ${step}`);
        },
      });
      await expect(crashing.rotate(target)).rejects.toThrow(/simulated crash/);
      expect(await opens(before)).toBe(200);
      const count = versions();

      const resumed = await service().rotate(target);
      expect(resumed.resumed).toBe(true);
      expect(versions()).toBe(count);
      const after = await vault().read(secret, { stage: "AWSCURRENT" });
      expect(after.versionId).toBe(resumed.versionId);
      expect(await opens(after.credential)).toBe(200);
      expect(await opens(before)).toBe(200);
    });
  }

  it("never promotes a password the registry refuses", async () => {
    await service().rotate(target);
    const before = await vault().read(secret, { stage: "AWSCURRENT" });
    const broken: RegistryAccounts = { setPassword: async () => undefined, retire: async () => undefined };
    await expect(service({ accounts: broken }).rotate(target)).rejects.toMatchObject({ code: "verification_unauthorized" });
    expect((await vault().read(secret, { stage: "AWSCURRENT" })).versionId).toBe(before.versionId);
    expect(await opens(before.credential)).toBe(200);
  });

  it("never overwrites a user whose credential is not revoked: waits, or revokes first when told to", async () => {
    await service().rotate(target);
    const blue = await current();
    await service().rotate(target);
    // The next rotation needs blue's slot, and blue's credential may still be held.
    await expect(service().rotate(target)).rejects.toMatchObject({ code: "previous_in_use" });
    expect(await opens(blue)).toBe(200);
    expect(Object.values(sm.stages(secret)).filter((s) => s.includes("AWSPENDING"))).toEqual([]);

    const eager: RotatedRegistry = { ...target, revoke: { afterSeconds: 86_400, whenInUse: "revoke" } };
    await service().rotate(eager);
    expect(await opens(blue)).toBe(401);
    expect((await current()).username).toBe("pullkeeper-blue");
    expect(await opens(await current())).toBe(200);
    expect(events.filter((e) => e.type === "Credential Revoked")).toEqual([expect.objectContaining({ detail: expect.objectContaining({ reason: "rotation" }) })]);
  });

  // A source without slots (Docker Hub, GitLab, JFrog tokens) issues a new, independent credential
  // each time; here a new htpasswd user per rotation stands for a new token, retired to revoke it.
  // Revocation revokes AWSPREVIOUS only, so a rotation that took that label from an unrevoked
  // credential left it valid, out of sight, until it expired: three live logins after three rotations.
  it("without slots too, never leaves a previous credential unrevoked and out of revocation's sight: waits, or revokes first when told to", async () => {
    let issued = 0;
    const tokens: CredentialIssuer = {
      issue: async () => credential(`token-${++issued}`, new RandomPasswords().generate().reveal()),
      install: (next) => world.htpasswd.setPassword(next.username, next.password),
    };
    const independent = (options: { revokes?: boolean } = {}) =>
      new RotationService({ ...adapters(), issuer: () => tokens, revocation: revocation(), newToken: randomUUID, revokes: () => options.revokes ?? true });
    await independent().rotate(target);
    const one = await current();
    await independent().rotate(target);
    const two = await current();
    // `one` is AWSPREVIOUS and not revoked: a third token would take the label from it.
    await expect(independent().rotate(target)).rejects.toMatchObject({ code: "previous_in_use", message: expect.stringContaining("is not revoked yet") });
    expect((await current()).username).toBe(two.username);
    expect(Object.values(sm.stages(secret)).filter((s) => s.includes("AWSPENDING"))).toEqual([]);
    expect(await opens(one)).toBe(200);

    // Once revoked (nothing uses it here), the rotation goes on.
    expect(await revocation().check(target)).toMatchObject({ outcome: "revoked", versionId: expect.any(String) });
    expect(await opens(one)).toBe(401);
    await independent().rotate(target);
    const three = await current();
    expect(three.username).toBe("token-3");

    // whenInUse: revoke — the previous one (two) is revoked first, then the rotation goes on.
    const eager: RotatedRegistry = { ...target, revoke: { afterSeconds: 86_400, whenInUse: "revoke" } };
    await independent().rotate(eager);
    expect(await opens(two)).toBe(401);
    expect(await opens(three)).toBe(200);
    expect(await opens(await current())).toBe(200);
    // At most the current and the previous credential open the registry, ever.
    expect(await world.htpasswd.users()).toEqual(["token-3", "token-4"]);

    // A source with nothing to revoke (its tokens only expire) is not held back.
    await independent({ revokes: false }).rotate(target);
    expect((await current()).username).toBe("token-5");
  });

  // Issue 11, defect 9: rotations of one registry were not serialised. Forced here: the first
  // rotation's finishSecret runs after a second rotation set and tested its password, so without
  // a lock the vault ends on the first one while the file holds the second (401 from the registry).
  it("serialises rotations of one registry: an interleaved second rotation is refused, the vault's current opens the registry", async () => {
    await service().rotate(target);
    await revocation().check(target);
    let releaseFirst!: () => void;
    const firstMayFinish = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstTested!: () => void;
    const firstAtFinish = new Promise<void>((resolve) => (firstTested = resolve));
    const first = service({
      afterStep: async (step) => {
        if (step === "testSecret") {
          firstTested();
          await firstMayFinish;
        }
      },
    }).rotate(target);
    await firstAtFinish;
    // A second rotation (another API call, the schedule, Secrets Manager) with its own token.
    const second = (async () => {
      const token = randomUUID();
      for (const step of ROTATION_STEPS) await service().step(step, target, token);
    })();
    const secondOutcome = await second.then(() => "rotated", (e: { code?: string }) => e.code ?? "error");
    releaseFirst();
    const firstOutcome = await first.then(() => "rotated", (e: { code?: string }) => e.code ?? "error");
    expect([firstOutcome, secondOutcome]).toEqual(["rotated", "rotation_in_progress"]);
    const now = await vault().read(secret, { stage: "AWSCURRENT" });
    expect(await opens(now.credential)).toBe(200);
    expect((await ledger().registryState("local"))?.current?.versionId).toBe(now.versionId);
  });

  // Issue 11, defect 10: a crash inside finishSecret after the promotion and before the ledger
  // write left the API showing the old version as current, with no event, across restarts.
  it("repairs a crash between promotion and the ledger: the vault's current is recorded and announced once", async () => {
    await service().rotate(target);
    await revocation().check(target);
    await expect(
      service({
        afterPromote: () => {
          throw new Error("simulated crash after the promotion");
        },
      }).rotate(target),
    ).rejects.toThrow(/simulated crash/);
    const promoted = await vault().read(secret, { stage: "AWSCURRENT" });
    expect((await ledger().registryState("local"))?.current?.versionId).not.toBe(promoted.versionId);
    const rotatedBefore = events.filter((e) => e.type === "Credential Rotated").length;

    // What a restart (or the revoke function's next run) does: compare vault and ledger, close the gap.
    expect(await new LedgerRepair(adapters()).repair(target)).toBe("repaired");
    expect(await new LedgerRepair(adapters()).repair(target)).toBe("in-sync");
    const state = await ledger().registryState("local");
    expect(state?.current).toMatchObject({ versionId: promoted.versionId, verification: { status: "ok" } });
    expect(events.filter((e) => e.type === "Credential Rotated")).toHaveLength(rotatedBefore + 1);
    expect(events.at(-1)?.detail).toMatchObject({ versionId: promoted.versionId });
  });

  it("rolls back to the previous credential while it still works, and refuses once it is revoked", async () => {
    const rollback = () => new RollbackService({ ...adapters(), newToken: randomUUID });
    await service().rotate(target);
    const blue = await current();
    await service().rotate(target);
    const green = await current();

    const result = await rollback().rollback(target);
    expect(result).toMatchObject({ outcome: "rolled-back" });
    const back = await vault().read(secret, { stage: "AWSCURRENT" });
    expect(back.versionId).toBe(result.versionId);
    expect(back.credential.username).toBe("pullkeeper-blue");
    expect(back.credential.password.reveal()).toBe(blue.password.reveal());
    expect(await opens(back.credential)).toBe(200);
    // The credential rolled back from is now the previous one, kept until nothing uses it.
    expect(await opens(green)).toBe(200);
    expect((await ledger().registryState("local"))?.current?.versionId).toBe(result.versionId);
    expect(events.at(-1)).toMatchObject({ type: "Credential Rotated", detail: { versionId: result.versionId } });

    await revocation().check(target);
    expect(await opens(green)).toBe(401);
    await expect(rollback().rollback(target)).rejects.toMatchObject({ code: "previous_revoked" });
    expect((await vault().read(secret, { stage: "AWSCURRENT" })).versionId).toBe(result.versionId);
  });

  it("refuses a rollback to a credential that no longer opens the registry", async () => {
    await service().rotate(target);
    const blue = await current();
    await service().rotate(target);
    await world.htpasswd.retire(blue.username);
    const before = (await vault().read(secret, { stage: "AWSCURRENT" })).versionId;
    await expect(new RollbackService({ ...adapters(), newToken: randomUUID }).rollback(target)).rejects.toMatchObject({ code: "rollback_unverified" });
    expect((await vault().read(secret, { stage: "AWSCURRENT" })).versionId).toBe(before);
  });
});
