import { credential, type Credential } from "@pullkeeper/core";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { type CredentialRegistry, startCredentialRegistry } from "../support/credential-registry.js";
import { FakeDockerHub } from "../support/fake-dockerhub.js";
import { eventually } from "./support/harness.js";
import { api } from "./support/safe-rotation-world.js";

/**
 * Issue 14's "Done means" for the Docker Hub source, in the embedded runtime: the fake Docker Hub
 * (every request checked against Docker Hub's API description) mints organization access tokens
 * into a real docker-registry. Rotated twice: both docker-config consumers receive each new token,
 * the registry accepts it, and once nothing holds the previous token it is deleted at Docker Hub
 * and the registry refuses it. A wrong admin login, a 429 and an outage each fail the rotation
 * with their own code, and leave the current token current, delivered and working.
 */

const CONSUMERS = ["laptop", "runner"];
const ADMIN_SECRET = "pullkeeper/dockerhub-admin";

interface World {
  readonly dir: string;
  readonly stateDir: string;
  readonly registry: CredentialRegistry;
  readonly hub: FakeDockerHub;
  runtime?: EmbeddedRuntime;
}

let world: World;
let baseUrl: string;

const vault = () => new LocalVault({ dir: join(world.stateDir, "vault") });
const current = async (): Promise<Credential & { versionId: string }> => {
  const stored = await vault().read("pullkeeper/hub", { stage: "AWSCURRENT" });
  return Object.assign(stored.credential, { versionId: stored.versionId });
};
const opens = (c: Credential) => world.registry.basic(c.username, c.password.reveal());
/** The login each consumer's docker config holds for Docker Hub (under the key `docker login` writes for it). */
async function held(id: string): Promise<{ username: string; password: string }> {
  const config = JSON.parse(await readFile(join(world.dir, `${id}.json`), "utf8")) as { auths: Record<string, { auth: string }> };
  const [username = "", password = ""] = Buffer.from(config.auths["https://index.docker.io/v1/"]?.auth ?? "", "base64").toString("utf8").split(/:(.*)/s);
  return { username, password };
}
const allHold = (c: Credential) =>
  eventually(async () => {
    const logins = await Promise.all(CONSUMERS.map((id) => held(id).catch(() => undefined)));
    return logins.every((l) => l?.password === c.password.reveal() && l.username === c.username) ? true : undefined;
  }, 60_000, "every consumer holding the current token");
const rotate = () => api(baseUrl, world.stateDir, "POST", "/v1/registries/hub/refresh?force=true");

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-dockerhub-e2e-"));
  const registry = await startCredentialRegistry();
  const hub = await FakeDockerHub.start({ registry, orgs: ["acme"] });
  world = { dir, stateDir: join(dir, ".pullkeeper"), registry, hub };
  const configPath = join(dir, "pullkeeper.yaml");
  await writeFile(
    configPath,
    `registries:
  - id: hub
    host: ${registry.host}
    kind: dockerhub
    source:
      type: dockerhub-token
      admin: ${ADMIN_SECRET}
      organization: acme
      repositories: [acme/app]
      lifetime: 30d
      rotation: rate(1 day)
      api: "${hub.url}"
    secret: pullkeeper/hub
    verify: { endpoint: "${registry.url}" }
consumers:
${CONSUMERS.map((id) => `  - id: ${id}\n    registry: hub\n    target: { kind: docker-config, path: ${join(dir, `${id}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  await mkdir(world.stateDir, { recursive: true, mode: 0o700 });
  const admin = hub.adminLogin;
  await vault().createSecret(ADMIN_SECRET, credential(admin.identifier, admin.secret));
  world.runtime = await EmbeddedRuntime.start({ configPath, stateDir: world.stateDir, port: 0, log: () => undefined });
  baseUrl = world.runtime.server?.url as string;
}, 120_000);

afterAll(async () => {
  await world?.runtime?.stop();
  await world?.hub.stop();
  await world?.registry.stop();
  if (world) await rm(world.dir, { recursive: true, force: true });
});

describe("the Docker Hub source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice: each token reaches every consumer and opens the registry; the previous one is deleted at Docker Hub once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime?.ledger.registryState("hub"))?.current?.versionId, 60_000, "the first rotation");
    const first = await current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe("acme");
    expect(await opens(first)).toBe(200);
    await allHold(first);

    let previous = first;
    for (let round = 0; round < 2; round++) {
      const rotated = await rotate();
      expect(rotated, JSON.stringify(rotated.body)).toMatchObject({ status: 200, body: { outcome: "rotated" } });
      const next = await current();
      expect(next.versionId).toBe(rotated.body.versionId);
      expect(next.password.reveal()).not.toBe(previous.password.reveal());
      expect(await opens(next)).toBe(200);
      await allHold(next);
      // Nothing holds the previous token any more (docker-config consumers list no environments): deleted, and refused.
      await eventually(async () => ((await opens(previous)) === 401 ? true : undefined), 30_000, "the previous token refused by the registry");
      expect(world.hub.tokens().some((t) => t.label === `pullkeeper ${previous.versionId}`)).toBe(false);
      expect(await opens(next)).toBe(200);
      previous = next;
    }

    // One live token at Docker Hub, the current one: pull-only on the configured repository, expiring.
    const live = world.hub.tokens();
    expect(live.map((t) => t.label)).toEqual([`pullkeeper ${previous.versionId}`]);
    expect(live[0]?.resources).toEqual([{ type: "TYPE_REPO", path: "acme/app", scopes: ["scope-image-pull"] }]);
    expect(Date.parse(live[0]?.expiresAt ?? "")).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(world.hub.violations).toEqual([]);
  });

  const faults = [
    { name: "a wrong admin login", code: "admin_rejected", arrange: () => world.hub.setAdminSecret("not-the-admin-secret"), restore: async () => world.hub.setAdminSecret((await vault().read(ADMIN_SECRET, { stage: "AWSCURRENT" })).credential.password.reveal()) },
    { name: "throttling (429, Retry-After)", code: "provider_throttled", arrange: () => world.hub.failNext({ status: 429, headers: { "retry-after": "2" } }), restore: () => new Promise<void>((r) => setTimeout(r, 2_100)) },
    { name: "an outage (503)", code: "provider_unavailable", arrange: () => world.hub.failNext({ status: 503 }), restore: async () => undefined },
  ];
  for (const fault of faults) {
    it(`${fault.name}: the rotation fails as ${fault.code}, and the current token stays current, delivered and working`, { timeout: 60_000 }, async () => {
      const before = await current();
      const tokensBefore = world.hub.tokens().map((t) => t.id);
      fault.arrange();
      const answer = await rotate();
      await fault.restore();
      expect(answer.status, JSON.stringify(answer.body)).toBe(502);
      expect(answer.body).toMatchObject({ code: fault.code });
      expect(String(answer.body.message)).toMatch(/Docker Hub/);
      expect(JSON.stringify(answer.body)).not.toContain(before.password.reveal());
      const after = await current();
      expect(after.versionId).toBe(before.versionId);
      expect(await opens(after)).toBe(200);
      for (const id of CONSUMERS) expect((await held(id)).password === before.password.reveal(), `${id} still holds the current token`).toBe(true);
      expect(world.hub.tokens().map((t) => t.id)).toEqual(tokensBefore);
      // Nothing staged: the next rotation starts afresh, and works.
      const pending = await vault().read("pullkeeper/hub", { stage: "AWSPENDING" }).catch(() => undefined);
      expect(pending?.versionId ?? before.versionId).toBe(before.versionId);
    });
  }

  it("after the faults, a rotation goes through again", { timeout: 120_000 }, async () => {
    const before = await current();
    expect(await rotate()).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const after = await current();
    await allHold(after);
    await eventually(async () => ((await opens(before)) === 401 ? true : undefined), 30_000, "the previous token refused");
    expect(world.hub.violations).toEqual([]);
  });

  it("a Retry-After pauses Docker Hub's bucket in the shared limiter: a short one is waited out before anything is sent, a long one fails the rotation unsent", { timeout: 60_000 }, async () => {
    world.hub.failNext({ status: 429, headers: { "retry-after": "3" } });
    expect((await rotate()).body).toMatchObject({ code: "provider_throttled" });
    const throttledAt = world.hub.requests.at(-1)?.at ?? 0;
    expect(await rotate()).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const firstAfter = world.hub.requests.find((r) => r.at > throttledAt);
    expect((firstAfter?.at ?? 0) - throttledAt).toBeGreaterThanOrEqual(2_500);

    const before = await current();
    world.hub.failNext({ status: 429, headers: { "retry-after": "600" } });
    expect((await rotate()).body).toMatchObject({ code: "provider_throttled" });
    const sent = world.hub.requests.length;
    const unsent = await rotate();
    expect(unsent).toMatchObject({ status: 502, body: { code: "provider_throttled", message: expect.stringMatching(/not sent/) } });
    expect(world.hub.requests.length).toBe(sent);
    expect((await current()).versionId).toBe(before.versionId);
    expect(await opens(before)).toBe(200);
  });
});
