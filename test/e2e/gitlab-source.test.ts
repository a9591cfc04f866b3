import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitLab, type GitLabToken } from "../support/fake-gitlab.js";
import { eventually } from "./support/harness.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { type SourceWorld, startSourceWorld } from "./support/source-world.js";

/**
 * Issue 14's "Done means" for the GitLab source, in the embedded runtime: the fake GitLab (every
 * request checked against GitLab's API description) makes tokens that open a real
 * docker-registry, once with project deploy tokens (the default) and once with group access
 * tokens. Rotated twice: both docker-config consumers receive each new token, the registry accepts
 * it, and once nothing holds the previous token it is deleted (deploy) or revoked (access) at
 * GitLab and the registry refuses it. A wrong admin token, a 429 and an outage each fail the
 * rotation with their own code, and leave the current token current, delivered and working.
 */

const KINDS = [
  { kind: "deploy-token", owner: "project: acme/web" },
  { kind: "access-token", owner: "group: acme/platform" },
] as const;

/**
 * More than the shared fault matrix checks, on every rotation it asks for: no answer shows the
 * admin token, and a failed rotation leaves nothing staged (the next one starts afresh).
 */
function strict(w: SourceWorld<FakeGitLab>): SourceWorld<FakeGitLab> {
  const secret = w.runtime.config.registries.find((r) => r.id === w.id)?.secret ?? "";
  return {
    ...w,
    rotate: async () => {
      const answer = await w.rotate();
      expect(JSON.stringify(answer.body).includes(await w.adminPassword()), "the answer shows the admin token").toBe(false);
      const { versionId } = await w.current();
      const pending = await w.runtime.vault.read(secret, { stage: "AWSPENDING" }).catch(() => undefined);
      if (answer.status !== 200) expect(pending?.versionId ?? versionId, "a failed rotation left a version staged").toBe(versionId);
      return answer;
    },
  };
}

for (const { kind, owner } of KINDS) {
  describe(`the GitLab source (${kind}) in the embedded runtime (issue 14, Done means)`, () => {
    let world: SourceWorld<FakeGitLab>;
    const named = (versionId: string): GitLabToken[] => [...world.fake.tokens.values()].filter((t) => t.name === `pullkeeper-${versionId}`);
    const live = (): GitLabToken[] => [...world.fake.tokens.values()].filter((t) => !t.revoked && !t.expired);

    beforeAll(async () => {
      world = await startSourceWorld(async (registry) => {
        const adminToken = `glpat-admin-${randomBytes(10).toString("hex")}`;
        const gitlab = await FakeGitLab.start(registry, { adminToken });
        // GitLab documents read_registry for access tokens; its API description's scopes enum lacks it.
        gitlab.allowDocumentedRegistryScopes = true;
        // GitLab takes any username with an access token; the source logs in with the token's name.
        gitlab.accessTokenLogin = "name";
        return {
          fake: gitlab,
          kind: "gitlab",
          source: `type: gitlab-token\n${owner}\nkind: ${kind}\nlifetime: 30d\nrotation: rate(1 day)\napi: "${gitlab.url}"`,
          admin: { username: "pullkeeper-admin", password: adminToken },
          stop: () => gitlab.close(),
        };
      });
    }, 120_000);

    afterAll(() => world?.stop());

    it("rotates twice: each token reaches every consumer and opens the registry; the previous one is gone at GitLab once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
      const v1 = await eventually(async () => (await world.runtime.ledger.registryState(world.id))?.current?.versionId, 60_000, "the first rotation");
      const first = await world.current();
      expect(first.versionId).toBe(v1);
      expect(first.username).toMatch(kind === "deploy-token" ? /^gitlab\+deploy-token-\d+$/ : new RegExp(`^pullkeeper-${first.versionId}$`));
      expect(await world.opens(first)).toBe(200);
      await world.allHold(first);

      let previous = first;
      for (let round = 0; round < 2; round++) {
        const rotated = await world.rotate();
        expect(rotated, JSON.stringify(rotated.body)).toMatchObject({ status: 200, body: { outcome: "rotated" } });
        const next = await world.current();
        expect(next.versionId).toBe(rotated.body.versionId);
        expect(next.password.reveal() === previous.password.reveal()).toBe(false);
        expect(await world.opens(next)).toBe(200);
        await world.allHold(next);
        // Nothing holds the previous token any more (docker-config consumers list no environments): gone at GitLab, and refused.
        await expect.poll(() => world.opens(previous), { timeout: 30_000, interval: 200 }).toBe(401);
        if (kind === "deploy-token") expect(named(previous.versionId)).toEqual([]);
        else expect(named(previous.versionId).map((t) => t.revoked)).toEqual([true]);
        expect(await world.opens(next)).toBe(200);
        previous = next;
      }

      // One live token at GitLab, the current one: read_registry only, expiring in about 30 days.
      expect(live().map((t) => t.name)).toEqual([`pullkeeper-${previous.versionId}`]);
      expect(live()[0]?.scopes).toEqual(["read_registry"]);
      if (kind === "access-token") expect(live()[0]?.accessLevel).toBe(20);
      expect(live()[0]?.expiresAtMs).toBeGreaterThan(Date.now() + 29 * 86_400_000);
      expect(live()[0]?.expiresAtMs).toBeLessThan(Date.now() + 32 * 86_400_000);
      expect(world.fake.violations).toEqual([]);
    });

    sourceFaultTests(
      () => strict(world),
      {
        rejectAdmin: () => void (world.fake.adminToken = "glpat-not-the-admin"),
        acceptAdmin: async () => void (world.fake.adminToken = await world.adminPassword()),
        throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) }, body: { message: "429 Too Many Requests" } }),
        outage: () => world.fake.failNext({ status: 503 }),
        // Every token GitLab holds, deleted ones gone and revoked ones marked: a failed rotation changes none.
        snapshot: () => [...world.fake.tokens.values()].map((t) => ({ id: t.id, name: t.name, revoked: t.revoked, expired: t.expired, installed: t.installed })),
      },
      /GitLab/,
    );

    it("after the faults, GitLab holds one live token, the current one (the previous deleted or revoked), and saw no request outside its API description", async () => {
      expect(live().map((t) => t.name)).toEqual([`pullkeeper-${(await world.current()).versionId}`]);
      expect(world.fake.violations).toEqual([]);
    });
  });
}
