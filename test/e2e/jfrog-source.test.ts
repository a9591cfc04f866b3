import { credential, type Credential } from "@pullkeeper/core";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { type CredentialRegistry, startCredentialRegistry } from "../support/credential-registry.js";
import { FakeJFrog, type JFrogToken } from "../support/fake-jfrog.js";
import { eventually } from "./support/harness.js";
import { api } from "./support/safe-rotation-world.js";

/**
 * Issue 14's "Done means" for the JFrog source, in the embedded runtime: the fake JFrog Platform
 * (every request checked against the description of JFrog's Access Tokens API) creates access
 * tokens for one user, each a live login of that user at a real docker-registry. Rotated twice:
 * both docker-config consumers receive each new token, the registry accepts it, and once nothing
 * holds the previous token it is revoked at JFrog and the registry refuses it. A wrong admin
 * token, a 429 and an outage each fail the rotation with their own code, and leave the current
 * token current, delivered and working.
 */

const CONSUMERS = ["laptop", "runner"];
const ADMIN_SECRET = "pullkeeper/jfrog-admin";
const USERNAME = "ci-pull";

interface World {
  readonly dir: string;
  readonly stateDir: string;
  readonly registry: CredentialRegistry;
  readonly jfrog: FakeJFrog;
  runtime?: EmbeddedRuntime;
}

let world: World;
let baseUrl: string;

const vault = () => new LocalVault({ dir: join(world.stateDir, "vault") });
const current = async (): Promise<Credential & { versionId: string }> => {
  const stored = await vault().read("pullkeeper/jfrog", { stage: "AWSCURRENT" });
  return Object.assign(stored.credential, { versionId: stored.versionId });
};
const opens = (c: Credential) => world.registry.basic(c.username, c.password.reveal());
const tokenOf = (versionId: string): JFrogToken | undefined => [...world.jfrog.tokens.values()].find((t) => t.description === `pullkeeper ${versionId}`);
const live = () => [...world.jfrog.tokens.values()].filter((t) => !t.revoked && !t.expired);
/** The login each consumer's docker config holds for the registry (a generic registry is keyed by its host). */
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
const rotate = () => api(baseUrl, world.stateDir, "POST", "/v1/registries/jfrog/refresh?force=true");

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-jfrog-e2e-"));
  const registry = await startCredentialRegistry();
  const adminToken = `admin-${crypto.randomUUID()}`;
  const jfrog = await FakeJFrog.start(registry, { adminToken });
  world = { dir, stateDir: join(dir, ".pullkeeper"), registry, jfrog };
  const configPath = join(dir, "pullkeeper.yaml");
  await writeFile(
    configPath,
    `registries:
  - id: jfrog
    host: ${registry.host}
    kind: generic
    source:
      type: jfrog-token
      admin: ${ADMIN_SECRET}
      api: "${jfrog.url}"
      username: ${USERNAME}
      lifetime: 30d
      rotation: rate(1 day)
    secret: pullkeeper/jfrog
    verify: { endpoint: "${registry.url}" }
consumers:
${CONSUMERS.map((id) => `  - id: ${id}\n    registry: jfrog\n    target: { kind: docker-config, path: ${join(dir, `${id}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  await mkdir(world.stateDir, { recursive: true, mode: 0o700 });
  await vault().createSecret(ADMIN_SECRET, credential("admin", adminToken));
  world.runtime = await EmbeddedRuntime.start({ configPath, stateDir: world.stateDir, port: 0, log: () => undefined });
  baseUrl = world.runtime.server?.url as string;
}, 120_000);

afterAll(async () => {
  await world?.runtime?.stop();
  await world?.jfrog.close();
  await world?.registry.stop();
  if (world) await rm(world.dir, { recursive: true, force: true });
});

describe("the JFrog source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice: each token reaches every consumer and opens the registry; the previous one is revoked at JFrog once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime?.ledger.registryState("jfrog"))?.current?.versionId, 60_000, "the first rotation");
    const first = await current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe(USERNAME);
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
      // Nothing holds the previous token any more (docker-config consumers list no environments): revoked, and refused.
      await eventually(async () => ((await opens(previous)) === 401 ? true : undefined), 30_000, "the previous token refused by the registry");
      expect(tokenOf(previous.versionId)?.revoked).toBe(true);
      expect(await opens(next)).toBe(200);
      previous = next;
    }

    // One live token at JFrog, the current one: the user's own permissions, not refreshable, expiring.
    expect(live().map((t) => t.description)).toEqual([`pullkeeper ${previous.versionId}`]);
    expect(live()[0]).toMatchObject({ username: USERNAME, scope: "applied-permissions/user", refreshable: false, expiresIn: 30 * 86_400 });
    expect(world.jfrog.takeViolations()).toEqual([]);
  });

  const faults = [
    {
      name: "a wrong admin token",
      code: "admin_rejected",
      arrange: () => {
        world.jfrog.adminToken = "not-the-admin-token";
      },
      restore: async () => {
        world.jfrog.adminToken = (await vault().read(ADMIN_SECRET, { stage: "AWSCURRENT" })).credential.password.reveal();
      },
    },
    {
      name: "throttling (429, Retry-After)",
      code: "provider_throttled",
      arrange: () => world.jfrog.failNext({ status: 429, headers: { "retry-after": "1" } }),
      // The Retry-After paused JFrog's bucket in the shared limiter: let it pass before the next test.
      restore: () => new Promise<void>((r) => setTimeout(r, 1_100)),
    },
    { name: "an outage (503)", code: "provider_unavailable", arrange: () => world.jfrog.failNext({ status: 503 }), restore: async () => undefined },
  ];
  for (const fault of faults) {
    it(`${fault.name}: the rotation fails as ${fault.code}, and the current token stays current, delivered and working`, { timeout: 60_000 }, async () => {
      const before = await current();
      const tokensBefore = live().map((t) => t.tokenId);
      fault.arrange();
      const answer = await rotate();
      await fault.restore();
      expect(answer.status, JSON.stringify(answer.body)).toBe(502);
      expect(answer.body).toMatchObject({ code: fault.code });
      expect(String(answer.body.message)).toMatch(/^JFrog: /);
      expect(JSON.stringify(answer.body)).not.toContain(before.password.reveal());
      const after = await current();
      expect(after.versionId).toBe(before.versionId);
      expect(await opens(after)).toBe(200);
      for (const id of CONSUMERS) expect((await held(id)).password === before.password.reveal(), `${id} still holds the current token`).toBe(true);
      expect(live().map((t) => t.tokenId)).toEqual(tokensBefore);
      // Nothing staged: the next rotation starts afresh, and works.
      const pending = await vault().read("pullkeeper/jfrog", { stage: "AWSPENDING" }).catch(() => undefined);
      expect(pending?.versionId ?? before.versionId).toBe(before.versionId);
    });
  }

  it("after the faults, a rotation goes through again", { timeout: 120_000 }, async () => {
    const before = await current();
    expect(await rotate()).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const after = await current();
    await allHold(after);
    await eventually(async () => ((await opens(before)) === 401 ? true : undefined), 30_000, "the previous token refused");
    expect(tokenOf(before.versionId)?.revoked).toBe(true);
    expect(world.jfrog.takeViolations()).toEqual([]);
  });
});
