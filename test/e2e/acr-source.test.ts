import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACR_ADMIN, ACR_SUBSCRIPTION, ACR_TENANT, defaultAcrOptions, FakeAcr } from "../support/fake-acr.js";
import { type ProviderFaults, retryAfterTests, sourceFaultTests } from "./support/source-faults.js";
import { rotatesTwice, type SourceWorld, startSourceWorld } from "./support/source-world.js";

/**
 * Issue 14's "Done means" for the Azure Container Registry source, in the embedded runtime: the
 * fake Entra ID + ARM (every ARM request checked against ARM's ACR description) regenerates an ACR
 * token's two passwords into a real docker-registry, where each is a login of the token's name.
 * Rotated twice, the slots take turns: during the overlap both slots' passwords open the registry;
 * both docker-config consumers receive each new password, the registry accepts it, and once nothing
 * holds the previous one its slot is removed from the token and the registry refuses it. A wrong
 * client secret, a 429 and an outage each fail the rotation with their own code, and leave the
 * current password current, delivered and working.
 */

let world: SourceWorld<FakeAcr>;
beforeAll(async () => {
  world = await startSourceWorld(
    async (registry) => {
      const acr = await FakeAcr.start(defaultAcrOptions(registry));
      return {
        fake: acr,
        kind: "acr",
        source: `type: acr-token\nsubscription: "${ACR_SUBSCRIPTION}"\nresourceGroup: pullkeeper-rg\nregistry: pullkeeperacr\ntoken: pullkeeper\nlifetime: 30d\nrotation: rate(1 day)\napi: "${acr.url}"\nlogin: "${acr.url}"`,
        admin: { username: `${ACR_TENANT}/${ACR_ADMIN.clientId}`, password: ACR_ADMIN.clientSecret },
        stop: () => acr.close(),
      };
    },
    // Both slots open the registry during the overlap: world.overlaps.
    { recordOverlaps: true },
  );
}, 120_000);

afterAll(() => world?.stop());

/** The slot each successful GenerateCredentials regenerated, in order. */
const generated = () => world.fake.requests.filter((r) => r.path.endsWith("/generateCredentials") && r.status === 200).map((r) => (r.body as { name?: string }).name);

const faults: ProviderFaults = {
  rejectAdmin: () => {
    world.fake.admin = { ...ACR_ADMIN, clientSecret: "not-the-client-secret" };
  },
  acceptAdmin: () => {
    world.fake.admin = ACR_ADMIN;
  },
  throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
  outage: () => world.fake.failNext({ status: 503 }),
  snapshot: () => world.fake.token("pullkeeper"),
};

describe("the ACR source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice, the two password slots taking turns: both open the registry during the overlap; each password reaches every consumer and opens the registry; the previous slot is removed once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
    expect((await world.first()).username).toBe("pullkeeper");
    expect(generated()).toEqual(["password1"]);
    await rotatesTwice(world, (_previous, next, round) => {
      const slot = (["password2", "password1"] as const)[round];
      expect(next.username).toBe("pullkeeper");
      expect(generated().at(-1), `round ${round}`).toBe(slot);
      // Nothing holds the previous password any more: its slot is removed from the token.
      expect(world.fake.token("pullkeeper")?.passwords.map((p) => p.name)).toEqual([slot]);
    });

    // The token holds one password, the current one, expiring a lifetime from its creation.
    const [live] = world.fake.token("pullkeeper")?.passwords ?? [];
    expect(live?.name).toBe("password1");
    expect(Date.parse(live?.expiry ?? "")).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(world.fake.requests.filter((r) => r.method === "PATCH").map((r) => r.body)).toEqual([
      { properties: { credentials: { passwords: [{ name: "password2" }] } } },
      { properties: { credentials: { passwords: [{ name: "password1" }] } } },
    ]);
    expect(world.fake.violations).toEqual([]);
  });

  sourceFaultTests(() => world, faults, /Azure/);

  retryAfterTests(() => world, faults.throttle, /Azure/);
});
