import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeDockerHub } from "../support/fake-dockerhub.js";
import { eventually } from "./support/harness.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { type SourceWorld, startSourceWorld } from "./support/source-world.js";

/**
 * Issue 14's "Done means" for the Docker Hub source, in the embedded runtime: the fake Docker Hub
 * (every request checked against Docker Hub's API description) mints organization access tokens
 * into a real docker-registry. Rotated twice: both docker-config consumers receive each new token,
 * the registry accepts it, and once nothing holds the previous token it is deleted at Docker Hub
 * and the registry refuses it. A wrong admin login, a 429 and an outage each fail the rotation
 * with their own code, and leave the current token current, delivered and working.
 */

let world: SourceWorld<FakeDockerHub>;

beforeAll(async () => {
  world = await startSourceWorld(async (registry) => {
    const hub = await FakeDockerHub.start({ registry, orgs: ["acme"] });
    const { identifier, secret } = hub.adminLogin;
    return {
      fake: hub,
      kind: "dockerhub",
      source: `type: dockerhub-token\norganization: acme\nrepositories: [acme/app]\nlifetime: 30d\nrotation: rate(1 day)\napi: "${hub.url}"`,
      admin: { username: identifier, password: secret },
      stop: () => hub.stop(),
    };
  });
}, 120_000);

afterAll(() => world?.stop());

describe("the Docker Hub source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice: each token reaches every consumer and opens the registry; the previous one is deleted at Docker Hub once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime.ledger.registryState(world.id))?.current?.versionId, 60_000, "the first rotation");
    const first = await world.current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe("acme");
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
      // Nothing holds the previous token any more (docker-config consumers list no environments): deleted, and refused.
      await expect.poll(() => world.opens(previous), { timeout: 30_000, interval: 200 }).toBe(401);
      expect(world.fake.tokens().some((t) => t.label === `pullkeeper ${previous.versionId}`)).toBe(false);
      expect(await world.opens(next)).toBe(200);
      previous = next;
    }

    // One live token at Docker Hub, the current one: pull-only on the configured repository, expiring.
    const live = world.fake.tokens();
    expect(live.map((t) => t.label)).toEqual([`pullkeeper ${previous.versionId}`]);
    expect(live[0]?.resources).toEqual([{ type: "TYPE_REPO", path: "acme/app", scopes: ["scope-image-pull"] }]);
    expect(Date.parse(live[0]?.expiresAt ?? "")).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(world.fake.violations).toEqual([]);
  });

  sourceFaultTests(
    () => world,
    {
      rejectAdmin: () => world.fake.setAdminSecret("not-the-admin-secret"),
      acceptAdmin: async () => world.fake.setAdminSecret(await world.adminPassword()),
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      snapshot: () => world.fake.tokens().map((t) => t.id),
    },
    /Docker Hub/,
  );

  it("a Retry-After pauses Docker Hub's bucket in the shared limiter: a short one is waited out before anything is sent, a long one fails the rotation unsent", { timeout: 60_000 }, async () => {
    world.fake.failNext({ status: 429, headers: { "retry-after": "3" } });
    expect((await world.rotate()).body).toMatchObject({ code: "provider_throttled" });
    const throttledAt = world.fake.requests.at(-1)?.at ?? 0;
    expect(await world.rotate()).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const firstAfter = world.fake.requests.find((r) => r.at > throttledAt);
    expect((firstAfter?.at ?? 0) - throttledAt).toBeGreaterThanOrEqual(2_500);

    const before = await world.current();
    world.fake.failNext({ status: 429, headers: { "retry-after": "600" } });
    expect((await world.rotate()).body).toMatchObject({ code: "provider_throttled" });
    const sent = world.fake.requests.length;
    expect(await world.rotate()).toMatchObject({ status: 502, body: { code: "provider_throttled", message: expect.stringMatching(/not sent/) } });
    expect(world.fake.requests.length).toBe(sent);
    expect((await world.current()).versionId).toBe(before.versionId);
    expect(await world.opens(before)).toBe(200);
    expect(world.fake.violations).toEqual([]);
  });
});
