import { credential, type Credential } from "@pullkeeper/core";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { type CredentialRegistry, startCredentialRegistry } from "../support/credential-registry.js";
import { FakeHarbor, HARBOR_ADMIN } from "../support/fake-harbor.js";
import { eventually } from "./support/harness.js";
import { api } from "./support/safe-rotation-world.js";

/**
 * Issue 14's "Done means" for the Harbor source, in the embedded runtime: the fake Harbor (every
 * request checked against Harbor's API description) keeps two project robots whose secrets a real
 * docker-registry accepts. Rotated twice, the robots take turns (the first turn of each creates
 * it, later ones refresh its secret): during the overlap both robots' secrets open the registry;
 * both docker-config consumers receive each new secret; once nothing holds the previous robot's
 * secret it is refreshed at Harbor (and dropped), and the registry refuses it. A wrong admin
 * login, a 429 and an outage each fail the rotation with their own code, and leave the current
 * secret current, delivered and working.
 */

const CONSUMERS = ["laptop", "runner"];
const ADMIN_SECRET = "pullkeeper/harbor-admin";
const ROBOTS = ["robot$library+pullkeeper-blue", "robot$library+pullkeeper-green"];

interface World {
  readonly dir: string;
  readonly stateDir: string;
  readonly registry: CredentialRegistry;
  readonly harbor: FakeHarbor;
  runtime?: EmbeddedRuntime;
}

let world: World;
let baseUrl: string;
/** What the registry said to the current and to the staged secret while a rotation was under way (testSecret done, not yet promoted). */
const overlaps: { versionId: string; current?: { username: string; status: number }; pending: { username: string; status: number } }[] = [];

const vault = () => new LocalVault({ dir: join(world.stateDir, "vault") });
const stage = async (stage: "AWSCURRENT" | "AWSPENDING"): Promise<Credential & { versionId: string }> => {
  const stored = await vault().read("pullkeeper/harbor", { stage });
  return Object.assign(stored.credential, { versionId: stored.versionId });
};
const current = () => stage("AWSCURRENT");
const opens = (c: Credential) => world.registry.basic(c.username, c.password.reveal());
/** The login each consumer's docker config holds for the registry (kind generic: keyed by its host). */
async function held(id: string): Promise<{ username: string; password: string }> {
  const config = JSON.parse(await readFile(join(world.dir, `${id}.json`), "utf8")) as { auths: Record<string, { auth: string }> };
  const [username = "", password = ""] = Buffer.from(config.auths[world.registry.host]?.auth ?? "", "base64").toString("utf8").split(/:(.*)/s);
  return { username, password };
}
const allHold = (c: Credential) =>
  eventually(async () => {
    const logins = await Promise.all(CONSUMERS.map((id) => held(id).catch(() => undefined)));
    return logins.every((l) => l?.password === c.password.reveal() && l.username === c.username) ? true : undefined;
  }, 60_000, "every consumer holding the current secret");
const rotate = () => api(baseUrl, world.stateDir, "POST", "/v1/registries/harbor/refresh?force=true");
/** The ledger records the revocation just after Harbor refreshed the secret: the next rotation needs that robot's slot free. */
const revoked = (versionId: string) => eventually(async () => ((await world.runtime?.ledger.version("harbor", versionId))?.revoked ? true : undefined), 30_000, `version ${versionId} recorded revoked`);
const robotId = (login: string) => world.harbor.robots().find((r) => r.name === login)?.id;
const refreshes = (login: string) => world.harbor.requests.filter((r) => r.method === "PATCH" && r.path === `/robots/${robotId(login)}` && r.status === 200).length;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-harbor-e2e-"));
  const registry = await startCredentialRegistry();
  const harbor = await FakeHarbor.start({ registry, admin: HARBOR_ADMIN });
  world = { dir, stateDir: join(dir, ".pullkeeper"), registry, harbor };
  const configPath = join(dir, "pullkeeper.yaml");
  await writeFile(
    configPath,
    `registries:
  - id: harbor
    host: ${registry.host}
    kind: generic
    source:
      type: harbor-robot
      admin: ${ADMIN_SECRET}
      api: "${harbor.url.replace(/\/api\/v2\.0$/, "")}"
      project: library
      lifetime: 30d
      rotation: rate(1 day)
    secret: pullkeeper/harbor
    verify: { endpoint: "${registry.url}" }
consumers:
${CONSUMERS.map((id) => `  - id: ${id}\n    registry: harbor\n    target: { kind: docker-config, path: ${join(dir, `${id}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  await mkdir(world.stateDir, { recursive: true, mode: 0o700 });
  await vault().createSecret(ADMIN_SECRET, credential(HARBOR_ADMIN.username, HARBOR_ADMIN.password));
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
  await world?.harbor.close();
  await world?.registry.stop();
  if (world) await rm(world.dir, { recursive: true, force: true });
});

describe("the Harbor source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice, the two robots taking turns: both open the registry during the overlap; every consumer gets each secret; the previous robot's secret is refreshed once unused and refused", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime?.ledger.registryState("harbor"))?.current?.versionId, 60_000, "the first rotation");
    const first = await current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe(ROBOTS[0]);
    expect(await opens(first)).toBe(200);
    await allHold(first);
    expect(world.harbor.robots().map((r) => r.name)).toEqual([ROBOTS[0]]);

    let previous = first;
    for (let round = 0; round < 2; round++) {
      const rotated = await rotate();
      expect(rotated, JSON.stringify(rotated.body)).toMatchObject({ status: 200, body: { outcome: "rotated" } });
      const next = await current();
      expect(next.versionId).toBe(rotated.body.versionId);
      // The other robot: blue, green, blue.
      expect(next.username).toBe(ROBOTS[(round + 1) % 2]);
      expect(next.password.reveal()).not.toBe(previous.password.reveal());
      // While the rotation ran, both robots' secrets opened the registry.
      expect(overlaps.find((o) => o.versionId === next.versionId)).toEqual({ versionId: next.versionId, current: { username: previous.username, status: 200 }, pending: { username: next.username, status: 200 } });
      expect(await opens(next)).toBe(200);
      await allHold(next);
      // Nothing holds the previous secret any more (docker-config consumers list no environments): refreshed at Harbor, and refused.
      const before = refreshes(previous.username);
      await eventually(async () => ((await opens(previous)) === 401 ? true : undefined), 30_000, "the previous robot's secret refused by the registry");
      await revoked(previous.versionId);
      expect(refreshes(previous.username)).toBeGreaterThanOrEqual(Math.max(before, 1));
      // Only the current robot's secret opens the registry now.
      expect(await opens(next)).toBe(200);
      previous = next;
    }

    // Two robots at Harbor, pull-only on the project, living 30 days from their last issue.
    const robots = world.harbor.robots();
    expect(robots.map((r) => r.name).sort()).toEqual(ROBOTS);
    for (const robot of robots) {
      expect(robot.permissions).toEqual([{ kind: "project", namespace: "library", access: [{ resource: "repository", action: "pull" }] }]);
      expect(robot.disable).toBe(false);
    }
    const currentRobot = robots.find((r) => r.name === previous.username);
    expect((currentRobot?.expiresAt ?? 0) * 1000).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(world.harbor.violations).toEqual([]);
  });

  const faults = [
    { name: "a wrong admin login", code: "admin_rejected", arrange: () => void (world.harbor.admin = { username: HARBOR_ADMIN.username, password: "not-the-admin-password" }), restore: async () => void (world.harbor.admin = HARBOR_ADMIN) },
    { name: "throttling (429, Retry-After)", code: "provider_throttled", arrange: () => world.harbor.failNext({ status: 429, headers: { "retry-after": "1" } }), restore: () => new Promise<void>((r) => setTimeout(r, 1_100)) },
    { name: "an outage (503)", code: "provider_unavailable", arrange: () => world.harbor.failNext({ status: 503 }), restore: async () => undefined },
  ];
  for (const fault of faults) {
    it(`${fault.name}: the rotation fails as ${fault.code}, and the current secret stays current, delivered and working`, { timeout: 60_000 }, async () => {
      const before = await current();
      const robotsBefore = world.harbor.robots();
      fault.arrange();
      const answer = await rotate();
      await fault.restore();
      expect(answer.status, JSON.stringify(answer.body)).toBe(502);
      expect(answer.body).toMatchObject({ code: fault.code });
      expect(String(answer.body.message)).toMatch(/Harbor/);
      expect(JSON.stringify(answer.body)).not.toContain(before.password.reveal());
      expect(JSON.stringify(answer.body)).not.toContain(HARBOR_ADMIN.password);
      const after = await current();
      expect(after.versionId).toBe(before.versionId);
      expect(await opens(after)).toBe(200);
      for (const id of CONSUMERS) expect((await held(id)).password === before.password.reveal(), `${id} still holds the current secret`).toBe(true);
      expect(world.harbor.robots()).toEqual(robotsBefore);
      // Nothing staged: the next rotation starts afresh, and works.
      const pending = await vault().read("pullkeeper/harbor", { stage: "AWSPENDING" }).catch(() => undefined);
      expect(pending?.versionId ?? before.versionId).toBe(before.versionId);
    });
  }

  it("after the faults, a rotation goes through again, into the other robot", { timeout: 120_000 }, async () => {
    const before = await current();
    expect(await rotate()).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const after = await current();
    expect(after.username).toBe(ROBOTS.find((r) => r !== before.username));
    await allHold(after);
    await eventually(async () => ((await opens(before)) === 401 ? true : undefined), 30_000, "the previous robot's secret refused");
    expect(await opens(after)).toBe(200);
    expect(world.harbor.violations).toEqual([]);
  });
});
