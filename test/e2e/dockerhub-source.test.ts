import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeDockerHub } from "../support/fake-dockerhub.js";
import { type ProviderFaults, retryAfterTests, sourceFaultTests } from "./support/source-faults.js";
import { rotatesTwice, type SourceWorld, startSourceWorld } from "./support/source-world.js";

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

const faults: ProviderFaults = {
  rejectAdmin: () => world.fake.setAdminSecret("not-the-admin-secret"),
  acceptAdmin: async () => world.fake.setAdminSecret(await world.adminPassword()),
  throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
  outage: () => world.fake.failNext({ status: 503 }),
  snapshot: () => world.fake.tokens().map((t) => t.id),
};

describe("the Docker Hub source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice: each token reaches every consumer and opens the registry; the previous one is deleted at Docker Hub once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
    expect((await world.first()).username).toBe("acme");
    const last = await rotatesTwice(world, (previous) => {
      expect(world.fake.tokens().some((t) => t.label === `pullkeeper ${previous.versionId}`), "the previous token is still at Docker Hub").toBe(false);
    });

    // One live token at Docker Hub, the current one: pull-only on the configured repository, expiring.
    const live = world.fake.tokens();
    expect(live.map((t) => t.label)).toEqual([`pullkeeper ${last.versionId}`]);
    expect(live[0]?.resources).toEqual([{ type: "TYPE_REPO", path: "acme/app", scopes: ["scope-image-pull"] }]);
    expect(Date.parse(live[0]?.expiresAt ?? "")).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    // The ledger knows when the current token expires (the /v1/expiring view and on-call read it), as for a minted one.
    const recorded = (await world.runtime.ledger.registryState(world.id))?.current?.expiresAt?.getTime() ?? 0;
    expect(Math.abs(recorded - Date.parse(live[0]?.expiresAt ?? ""))).toBeLessThan(60_000);
    expect(world.fake.violations).toEqual([]);
  });

  sourceFaultTests(() => world, faults, /Docker Hub/);

  retryAfterTests(() => world, faults.throttle, /Docker Hub/);
});
