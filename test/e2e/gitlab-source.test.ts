import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitLab, type GitLabToken } from "../support/fake-gitlab.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { rotatesTwice, type SourceWorld, startSourceWorld } from "./support/source-world.js";

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
      const first = await world.first();
      expect(first.username).toMatch(kind === "deploy-token" ? /^gitlab\+deploy-token-\d+$/ : new RegExp(`^pullkeeper-${first.versionId}$`));
      const last = await rotatesTwice(world, (previous) => {
        // Gone at GitLab: deleted (deploy) or revoked (access).
        if (kind === "deploy-token") expect(named(previous.versionId)).toEqual([]);
        else expect(named(previous.versionId).map((t) => t.revoked)).toEqual([true]);
      });

      // One live token at GitLab, the current one: read_registry only, expiring in about 30 days.
      expect(live().map((t) => t.name)).toEqual([`pullkeeper-${last.versionId}`]);
      expect(live()[0]?.scopes).toEqual(["read_registry"]);
      if (kind === "access-token") expect(live()[0]?.accessLevel).toBe(20);
      expect(live()[0]?.expiresAtMs).toBeGreaterThan(Date.now() + 29 * 86_400_000);
      expect(live()[0]?.expiresAtMs).toBeLessThan(Date.now() + 32 * 86_400_000);
      expect(world.fake.violations).toEqual([]);
    });

    sourceFaultTests(
      () => world,
      {
        rejectAdmin: () => void (world.fake.adminToken = "glpat-not-the-admin"),
        acceptAdmin: async () => void (world.fake.adminToken = await world.adminPassword()),
        throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) }, body: { message: "429 Too Many Requests" } }),
        outage: () => world.fake.failNext({ status: 503 }),
        // Every token GitLab holds, deleted ones gone and revoked ones marked: a failed rotation changes none.
        snapshot: () => [...world.fake.tokens.values()].map((t) => ({ id: t.id, name: t.name, revoked: t.revoked, expired: t.expired, installed: t.installed })),
      },
      /GitLab/,
      {
        // GitLab holds one live token, the current one (the previous deleted or revoked), and saw no request outside its API description.
        settled: async () => {
          expect(live().map((t) => t.name)).toEqual([`pullkeeper-${(await world.current()).versionId}`]);
          expect(world.fake.violations).toEqual([]);
        },
      },
    );
  });
}
