import { credential, type Credential } from "@pullkeeper/core";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { type CredentialRegistry, startCredentialRegistry } from "../support/credential-registry.js";
import { FakeGitLab, type GitLabToken } from "../support/fake-gitlab.js";
import { eventually } from "./support/harness.js";
import { api } from "./support/safe-rotation-world.js";

/**
 * Issue 14's "Done means" for the GitLab source, in the embedded runtime: the fake GitLab (every
 * request checked against GitLab's API description) makes tokens that open a real
 * docker-registry, once with project deploy tokens (the default) and once with group access
 * tokens. Rotated twice: both docker-config consumers receive each new token, the registry accepts
 * it, and once nothing holds the previous token it is deleted (deploy) or revoked (access) at
 * GitLab and the registry refuses it. A wrong admin token, a 429 and an outage each fail the
 * rotation with their own code, and leave the current token current, delivered and working.
 */

const CONSUMERS = ["laptop", "runner"];
const ADMIN_SECRET = "pullkeeper/gitlab-admin";

const KINDS = [
  { kind: "deploy-token", owner: "project: acme/web" },
  { kind: "access-token", owner: "group: acme/platform" },
] as const;

interface World {
  readonly dir: string;
  readonly stateDir: string;
  readonly registry: CredentialRegistry;
  readonly gitlab: FakeGitLab;
  readonly adminToken: string;
  runtime?: EmbeddedRuntime;
  baseUrl?: string;
}

for (const { kind, owner } of KINDS) {
  describe(`the GitLab source (${kind}) in the embedded runtime (issue 14, Done means)`, () => {
    let world: World;
    const vault = () => new LocalVault({ dir: join(world.stateDir, "vault") });
    const current = async (): Promise<Credential & { versionId: string }> => {
      const stored = await vault().read("pullkeeper/gl", { stage: "AWSCURRENT" });
      return Object.assign(stored.credential, { versionId: stored.versionId });
    };
    const opens = (c: Credential) => world.registry.basic(c.username, c.password.reveal());
    /** The login each consumer's docker config holds for the registry (keyed by its host, as for kind gitlab). */
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
    const rotate = () => api(world.baseUrl as string, world.stateDir, "POST", "/v1/registries/gl/refresh?force=true");
    const named = (versionId: string): GitLabToken[] => [...world.gitlab.tokens.values()].filter((t) => t.name === `pullkeeper-${versionId}`);
    const live = (): GitLabToken[] => [...world.gitlab.tokens.values()].filter((t) => !t.revoked && !t.expired);

    beforeAll(async () => {
      const dir = await mkdtemp(join(tmpdir(), `pullkeeper-gitlab-${kind}-e2e-`));
      const registry = await startCredentialRegistry();
      const adminToken = `glpat-admin-${randomBytes(10).toString("hex")}`;
      const gitlab = await FakeGitLab.start(registry, { adminToken });
      // GitLab documents read_registry for access tokens; its API description's scopes enum lacks it.
      gitlab.allowDocumentedRegistryScopes = true;
      // GitLab takes any username with an access token; the source logs in with the token's name.
      gitlab.accessTokenLogin = "name";
      world = { dir, stateDir: join(dir, ".pullkeeper"), registry, gitlab, adminToken };
      const configPath = join(dir, "pullkeeper.yaml");
      await writeFile(
        configPath,
        `registries:
  - id: gl
    host: ${registry.host}
    kind: gitlab
    source:
      type: gitlab-token
      admin: ${ADMIN_SECRET}
      ${owner}
      kind: ${kind}
      lifetime: 30d
      rotation: rate(1 day)
      api: "${gitlab.url}"
    secret: pullkeeper/gl
    verify: { endpoint: "${registry.url}" }
consumers:
${CONSUMERS.map((id) => `  - id: ${id}\n    registry: gl\n    target: { kind: docker-config, path: ${join(dir, `${id}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
      );
      await mkdir(world.stateDir, { recursive: true, mode: 0o700 });
      await vault().createSecret(ADMIN_SECRET, credential("pullkeeper-admin", adminToken));
      world.runtime = await EmbeddedRuntime.start({ configPath, stateDir: world.stateDir, port: 0, log: () => undefined });
      world.baseUrl = world.runtime.server?.url as string;
    }, 120_000);

    afterAll(async () => {
      await world?.runtime?.stop();
      await world?.gitlab.close();
      await world?.registry.stop();
      if (world) await rm(world.dir, { recursive: true, force: true });
    });

    it("rotates twice: each token reaches every consumer and opens the registry; the previous one is gone at GitLab once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
      const v1 = await eventually(async () => (await world.runtime?.ledger.registryState("gl"))?.current?.versionId, 60_000, "the first rotation");
      const first = await current();
      expect(first.versionId).toBe(v1);
      expect(first.username).toMatch(kind === "deploy-token" ? /^gitlab\+deploy-token-\d+$/ : new RegExp(`^pullkeeper-${first.versionId}$`));
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
        // Nothing holds the previous token any more (docker-config consumers list no environments): gone at GitLab, and refused.
        await eventually(async () => ((await opens(previous)) === 401 ? true : undefined), 30_000, "the previous token refused by the registry");
        if (kind === "deploy-token") expect(named(previous.versionId)).toEqual([]);
        else expect(named(previous.versionId).map((t) => t.revoked)).toEqual([true]);
        expect(await opens(next)).toBe(200);
        previous = next;
      }

      // One live token at GitLab, the current one: read_registry only, expiring in about 30 days.
      expect(live().map((t) => t.name)).toEqual([`pullkeeper-${previous.versionId}`]);
      expect(live()[0]?.scopes).toEqual(["read_registry"]);
      if (kind === "access-token") expect(live()[0]?.accessLevel).toBe(20);
      expect(live()[0]?.expiresAtMs).toBeGreaterThan(Date.now() + 29 * 86_400_000);
      expect(live()[0]?.expiresAtMs).toBeLessThan(Date.now() + 32 * 86_400_000);
      expect(world.gitlab.violations).toEqual([]);
    });

    const faults = [
      { name: "a wrong admin token", code: "admin_rejected", arrange: () => (world.gitlab.adminToken = "glpat-not-the-admin"), restore: () => (world.gitlab.adminToken = world.adminToken) },
      { name: "throttling (429, Retry-After)", code: "provider_throttled", arrange: () => world.gitlab.failNext({ status: 429, headers: { "retry-after": "1" }, body: { message: "429 Too Many Requests" } }), restore: () => undefined },
      { name: "an outage (503)", code: "provider_unavailable", arrange: () => world.gitlab.failNext({ status: 503 }), restore: () => undefined },
    ];
    for (const fault of faults) {
      it(`${fault.name}: the rotation fails as ${fault.code}, and the current token stays current, delivered and working`, { timeout: 60_000 }, async () => {
        const before = await current();
        const tokensBefore = live().map((t) => t.id);
        fault.arrange();
        const answer = await rotate();
        fault.restore();
        expect(answer.status, JSON.stringify(answer.body)).toBe(502);
        expect(answer.body).toMatchObject({ code: fault.code });
        expect(String(answer.body.message)).toMatch(/GitLab/);
        expect(JSON.stringify(answer.body)).not.toContain(before.password.reveal());
        expect(JSON.stringify(answer.body)).not.toContain(world.adminToken);
        const after = await current();
        expect(after.versionId).toBe(before.versionId);
        expect(await opens(after)).toBe(200);
        for (const id of CONSUMERS) expect((await held(id)).password === before.password.reveal(), `${id} still holds the current token`).toBe(true);
        expect(live().map((t) => t.id)).toEqual(tokensBefore);
        // Nothing staged: the next rotation starts afresh, and works.
        const pending = await vault().read("pullkeeper/gl", { stage: "AWSPENDING" }).catch(() => undefined);
        expect(pending?.versionId ?? before.versionId).toBe(before.versionId);
      });
    }

    it("after the faults, a rotation goes through again", { timeout: 120_000 }, async () => {
      const before = await current();
      expect(await rotate()).toMatchObject({ status: 200, body: { outcome: "rotated" } });
      const after = await current();
      await allHold(after);
      await eventually(async () => ((await opens(before)) === 401 ? true : undefined), 30_000, "the previous token refused");
      expect(live().map((t) => t.name)).toEqual([`pullkeeper-${after.versionId}`]);
      expect(world.gitlab.violations).toEqual([]);
    });
  });
}
