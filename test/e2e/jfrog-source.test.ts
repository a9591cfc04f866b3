import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeJFrog, type JFrogToken } from "../support/fake-jfrog.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { rotatesTwice, type SourceWorld, startSourceWorld } from "./support/source-world.js";

/**
 * Issue 14's "Done means" for the JFrog source, in the embedded runtime: the fake JFrog Platform
 * (every request checked against the description of JFrog's Access Tokens API) creates access
 * tokens for one user, each a live login of that user at a real docker-registry. Rotated twice:
 * both docker-config consumers receive each new token, the registry accepts it, and once nothing
 * holds the previous token it is revoked at JFrog and the registry refuses it. A wrong admin
 * token, a 429 and an outage each fail the rotation with their own code, and leave the current
 * token current, delivered and working.
 */

const USERNAME = "ci-pull";

let world: SourceWorld<FakeJFrog>;

const tokenOf = (versionId: string): JFrogToken | undefined => [...world.fake.tokens.values()].find((t) => t.description === `pullkeeper ${versionId}`);
const live = () => [...world.fake.tokens.values()].filter((t) => !t.revoked && !t.expired);

beforeAll(async () => {
  world = await startSourceWorld(async (registry) => {
    const adminToken = `admin-${crypto.randomUUID()}`;
    const jfrog = await FakeJFrog.start(registry, { adminToken });
    return {
      fake: jfrog,
      kind: "generic",
      source: `type: jfrog-token\napi: "${jfrog.url}"\nusername: ${USERNAME}\nlifetime: 30d\nrotation: rate(1 day)`,
      admin: { username: "admin", password: adminToken },
      stop: () => jfrog.close(),
    };
  });
}, 120_000);

afterAll(() => world?.stop());

describe("the JFrog source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice: each token reaches every consumer and opens the registry; the previous one is revoked at JFrog once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
    expect((await world.first()).username).toBe(USERNAME);
    const last = await rotatesTwice(world, (previous) => {
      expect(tokenOf(previous.versionId)?.revoked).toBe(true);
    });

    // One live token at JFrog, the current one: the user's own permissions, not refreshable, expiring.
    expect(live().map((t) => t.description)).toEqual([`pullkeeper ${last.versionId}`]);
    expect(live()[0]).toMatchObject({ username: USERNAME, scope: "applied-permissions/user", refreshable: false, expiresIn: 30 * 86_400 });
    expect(world.fake.takeViolations()).toEqual([]);
  });

  sourceFaultTests(
    () => world,
    {
      rejectAdmin: () => void (world.fake.adminToken = "not-the-admin-token"),
      acceptAdmin: async () => void (world.fake.adminToken = await world.adminPassword()),
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      // Every token JFrog holds, revoked or not: a failed rotation creates, revokes and uninstalls none.
      snapshot: () => [...world.fake.tokens.values()].map((t) => ({ tokenId: t.tokenId, description: t.description, revoked: t.revoked, expired: t.expired, installed: t.installed })),
    },
    /^JFrog: /,
    {
      // JFrog holds one live token, the current one, every earlier one revoked, and saw no request outside its API description.
      settled: async () => {
        const { versionId } = await world.current();
        expect(live().map((t) => t.description)).toEqual([`pullkeeper ${versionId}`]);
        expect([...world.fake.tokens.values()].filter((t) => t.description !== `pullkeeper ${versionId}`).every((t) => t.revoked)).toBe(true);
        expect(world.fake.takeViolations()).toEqual([]);
      },
    },
  );
});
