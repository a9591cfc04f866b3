import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeJFrog, type JFrogToken } from "../support/fake-jfrog.js";
import { eventually } from "./support/harness.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { type SourceWorld, startSourceWorld } from "./support/source-world.js";

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

/**
 * The world the shared fault matrix gets, its rotate() checking more: no answer shows the admin
 * token, and a failed rotation leaves nothing staged in the vault (the next one starts afresh).
 */
const strict = (): SourceWorld<FakeJFrog> => ({
  ...world,
  rotate: async () => {
    const answer = await world.rotate();
    expect(JSON.stringify(answer.body).includes(await world.adminPassword()), "the answer shows the admin token").toBe(false);
    const secret = world.runtime.config.registries.find((r) => r.id === world.id)?.secret ?? "";
    const staged = (await world.runtime.vault.read(secret, { stage: "AWSPENDING" }).catch(() => undefined))?.versionId;
    const { versionId } = await world.current();
    if (answer.status !== 200) expect(staged ?? versionId, "a failed rotation left a version staged").toBe(versionId);
    return answer;
  },
});

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
    const v1 = await eventually(async () => (await world.runtime.ledger.registryState(world.id))?.current?.versionId, 60_000, "the first rotation");
    const first = await world.current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe(USERNAME);
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
      // Nothing holds the previous token any more (docker-config consumers list no environments): revoked, and refused.
      await expect.poll(() => world.opens(previous), { timeout: 30_000, interval: 200 }).toBe(401);
      expect(tokenOf(previous.versionId)?.revoked).toBe(true);
      expect(await world.opens(next)).toBe(200);
      previous = next;
    }

    // One live token at JFrog, the current one: the user's own permissions, not refreshable, expiring.
    expect(live().map((t) => t.description)).toEqual([`pullkeeper ${previous.versionId}`]);
    expect(live()[0]).toMatchObject({ username: USERNAME, scope: "applied-permissions/user", refreshable: false, expiresIn: 30 * 86_400 });
    expect(world.fake.takeViolations()).toEqual([]);
  });

  sourceFaultTests(
    strict,
    {
      rejectAdmin: () => void (world.fake.adminToken = "not-the-admin-token"),
      acceptAdmin: async () => void (world.fake.adminToken = await world.adminPassword()),
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      // Every token JFrog holds, revoked or not: a failed rotation creates, revokes and uninstalls none.
      snapshot: () => [...world.fake.tokens.values()].map((t) => ({ tokenId: t.tokenId, description: t.description, revoked: t.revoked, expired: t.expired, installed: t.installed })),
    },
    /^JFrog: /,
  );

  it("after the faults, JFrog holds one live token, the current one, every earlier one revoked, and saw no request outside its API description", async () => {
    const { versionId } = await world.current();
    expect(live().map((t) => t.description)).toEqual([`pullkeeper ${versionId}`]);
    expect([...world.fake.tokens.values()].filter((t) => t.description !== `pullkeeper ${versionId}`).every((t) => t.revoked)).toBe(true);
    expect(world.fake.takeViolations()).toEqual([]);
  });
});
