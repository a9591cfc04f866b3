import { credential, type Credential } from "@pullkeeper/core";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { type CredentialRegistry, startCredentialRegistry } from "../support/credential-registry.js";
import { FakeQuay, QUAY_ADMIN_TOKEN } from "../support/fake-quay.js";
import { eventually } from "./support/harness.js";
import { api } from "./support/safe-rotation-world.js";

/**
 * Issue 14's "Done means" for the Quay source, in the embedded runtime: the fake Quay (every
 * request checked against Quay's API description) keeps two organization robots whose tokens a
 * real docker-registry accepts. Rotated twice, the robots take turns: during the overlap both
 * robots' tokens open the registry; both docker-config consumers receive each new token; once
 * nothing holds the previous robot's token it is regenerated at Quay (and dropped), and the
 * registry refuses it. A wrong admin token, a 429 and an outage each fail the rotation with their
 * own code, and leave the current token current, delivered and working.
 */

const CONSUMERS = ["laptop", "runner"];
const ADMIN_SECRET = "pullkeeper/quay-admin";
const ROBOTS = ["acme+pullkeeper_blue", "acme+pullkeeper_green"];

interface World {
  readonly dir: string;
  readonly stateDir: string;
  readonly registry: CredentialRegistry;
  readonly quay: FakeQuay;
  runtime?: EmbeddedRuntime;
}

let world: World;
let baseUrl: string;
/** What the registry said to the current and to the staged token while a rotation was under way (testSecret done, not yet promoted). */
const overlaps: { versionId: string; current?: { username: string; status: number }; pending: { username: string; status: number } }[] = [];

const vault = () => new LocalVault({ dir: join(world.stateDir, "vault") });
const stage = async (stage: "AWSCURRENT" | "AWSPENDING"): Promise<Credential & { versionId: string }> => {
  const stored = await vault().read("pullkeeper/quay", { stage });
  return Object.assign(stored.credential, { versionId: stored.versionId });
};
const current = () => stage("AWSCURRENT");
const opens = (c: Credential) => world.registry.basic(c.username, c.password.reveal());
/** The login each consumer's docker config holds for the registry (keyed by its host, as `docker login` keys a Quay). */
async function held(id: string): Promise<{ username: string; password: string }> {
  const config = JSON.parse(await readFile(join(world.dir, `${id}.json`), "utf8")) as { auths: Record<string, { auth: string }> };
  const [username = "", password = ""] = Buffer.from(config.auths[world.registry.host]?.auth ?? "", "base64").toString("utf8").split(/:(.*)/s);
  return { username, password };
}
const allHold = (c: Credential) =>
  eventually(async () => {
    const logins = await Promise.all(CONSUMERS.map((id) => held(id).catch(() => undefined)));
    return logins.every((l) => l?.password === c.password.reveal() && l.username === c.username) ? true : undefined;
  }, 60_000, "every consumer holding the current token");
const rotate = () => api(baseUrl, world.stateDir, "POST", "/v1/registries/quay/refresh?force=true");
/** The ledger records the revocation just after Quay regenerated the token: the next rotation needs that robot's slot free. */
const revoked = (versionId: string) => eventually(async () => ((await world.runtime?.ledger.version("quay", versionId))?.revoked ? true : undefined), 30_000, `version ${versionId} recorded revoked`);
const regenerations = (login: string) => world.quay.requests.filter((r) => r.method === "POST" && r.path.endsWith(`/robots/${login.split("+")[1]}/regenerate`) && r.status === 200).length;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-quay-e2e-"));
  const registry = await startCredentialRegistry();
  const quay = await FakeQuay.start({ registry, token: QUAY_ADMIN_TOKEN, orgs: ["acme"] });
  world = { dir, stateDir: join(dir, ".pullkeeper"), registry, quay };
  const configPath = join(dir, "pullkeeper.yaml");
  await writeFile(
    configPath,
    `registries:
  - id: quay
    host: ${registry.host}
    kind: quay
    source:
      type: quay-robot
      admin: ${ADMIN_SECRET}
      organization: acme
      rotation: rate(1 day)
      api: "${quay.url}"
    secret: pullkeeper/quay
    verify: { endpoint: "${registry.url}" }
consumers:
${CONSUMERS.map((id) => `  - id: ${id}\n    registry: quay\n    target: { kind: docker-config, path: ${join(dir, `${id}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  await mkdir(world.stateDir, { recursive: true, mode: 0o700 });
  await vault().createSecret(ADMIN_SECRET, credential("pullkeeper", QUAY_ADMIN_TOKEN));
  world.runtime = await EmbeddedRuntime.start({
    configPath,
    stateDir: world.stateDir,
    port: 0,
    log: () => undefined,
    // The rotation holds the registry's lock until finishSecret, so nothing is revoked yet: the overlap.
    afterRotationStep: async (step, token) => {
      if (step !== "testSecret") return;
      const pending = await stage("AWSPENDING");
      const now = await current().catch(() => undefined);
      overlaps.push({
        versionId: token,
        ...(now !== undefined && now.versionId !== token && { current: { username: now.username, status: await opens(now) } }),
        pending: { username: pending.username, status: await opens(pending) },
      });
    },
  });
  baseUrl = world.runtime.server?.url as string;
}, 120_000);

afterAll(async () => {
  await world?.runtime?.stop();
  await world?.quay.close();
  await world?.registry.stop();
  if (world) await rm(world.dir, { recursive: true, force: true });
});

describe("the Quay source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice, the two robots taking turns: both open the registry during the overlap; every consumer gets each token; the previous robot's token is regenerated once unused and refused", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime?.ledger.registryState("quay"))?.current?.versionId, 60_000, "the first rotation");
    const first = await current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe(ROBOTS[0]);
    expect(await opens(first)).toBe(200);
    await allHold(first);
    expect(world.quay.robots().map((r) => r.name)).toEqual([ROBOTS[0]]);

    let previous = first;
    for (let round = 0; round < 2; round++) {
      const rotated = await rotate();
      expect(rotated, JSON.stringify(rotated.body)).toMatchObject({ status: 200, body: { outcome: "rotated" } });
      const next = await current();
      expect(next.versionId).toBe(rotated.body.versionId);
      // The other robot: blue, green, blue.
      expect(next.username).toBe(ROBOTS[(round + 1) % 2]);
      expect(next.password.reveal()).not.toBe(previous.password.reveal());
      // While the rotation ran, both robots' tokens opened the registry.
      expect(overlaps.find((o) => o.versionId === next.versionId)).toEqual({ versionId: next.versionId, current: { username: previous.username, status: 200 }, pending: { username: next.username, status: 200 } });
      expect(await opens(next)).toBe(200);
      await allHold(next);
      // Nothing holds the previous token any more (docker-config consumers list no environments): regenerated at Quay, and refused.
      await eventually(async () => ((await opens(previous)) === 401 ? true : undefined), 30_000, "the previous robot's token refused by the registry");
      await revoked(previous.versionId);
      // Each robot was created by its first rotation; its one regenerate so far is the revocation's.
      expect(regenerations(previous.username)).toBe(1);
      expect(await opens(next)).toBe(200);
      previous = next;
    }

    // Two robots at Quay, the current one holding the token pullkeeper delivered; the other's token is no one's.
    expect(world.quay.robots().map((r) => r.name).sort()).toEqual(ROBOTS);
    expect(world.quay.robots().every((r) => r.description === "pullkeeper: registry quay; its token is rotated by pullkeeper")).toBe(true);
    expect(world.quay.violations).toEqual([]);
  });

  const faults = [
    { name: "a wrong admin token", code: "admin_rejected", arrange: () => void (world.quay.token = "not-the-admin-token"), restore: () => void (world.quay.token = QUAY_ADMIN_TOKEN) },
    { name: "throttling (429, Retry-After)", code: "provider_throttled", arrange: () => world.quay.failNext({ status: 429, headers: { "retry-after": "1" } }), restore: () => undefined },
    { name: "an outage (503)", code: "provider_unavailable", arrange: () => world.quay.failNext({ status: 503 }), restore: () => undefined },
  ];
  for (const fault of faults) {
    it(`${fault.name}: the rotation fails as ${fault.code}, and the current token stays current, delivered and working`, { timeout: 60_000 }, async () => {
      const before = await current();
      const robotsBefore = world.quay.robots();
      fault.arrange();
      const answer = await rotate();
      fault.restore();
      expect(answer.status, JSON.stringify(answer.body)).toBe(502);
      expect(answer.body).toMatchObject({ code: fault.code });
      expect(String(answer.body.message)).toMatch(/Quay/);
      expect(JSON.stringify(answer.body)).not.toContain(before.password.reveal());
      expect(JSON.stringify(answer.body)).not.toContain(QUAY_ADMIN_TOKEN);
      const after = await current();
      expect(after.versionId).toBe(before.versionId);
      expect(await opens(after)).toBe(200);
      for (const id of CONSUMERS) expect((await held(id)).password === before.password.reveal(), `${id} still holds the current token`).toBe(true);
      expect(world.quay.robots()).toEqual(robotsBefore);
      // Nothing staged: the next rotation starts afresh, and works.
      const pending = await vault().read("pullkeeper/quay", { stage: "AWSPENDING" }).catch(() => undefined);
      expect(pending?.versionId ?? before.versionId).toBe(before.versionId);
    });
  }

  it("after the faults, a rotation goes through again, into the other robot", { timeout: 120_000 }, async () => {
    const before = await current();
    expect(await rotate()).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const after = await current();
    expect(after.username).toBe(ROBOTS.find((r) => r !== before.username));
    await allHold(after);
    await eventually(async () => ((await opens(before)) === 401 ? true : undefined), 30_000, "the previous robot's token refused");
    expect(await opens(after)).toBe(200);
    expect(world.quay.violations).toEqual([]);
  });
});
