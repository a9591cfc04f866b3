import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeHarbor, HARBOR_ADMIN } from "../support/fake-harbor.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { rotatesTwice, type SourceWorld, startSourceWorld } from "./support/source-world.js";

/**
 * Issue 14's "Done means" for the Harbor source, in the embedded runtime: the fake Harbor (every
 * request checked against Harbor's API description) keeps two project robots whose secrets a real
 * docker-registry accepts. Rotated twice, the robots take turns (the first turn of each creates
 * it, later ones refresh its secret): during the overlap both robots' secrets open the registry;
 * both docker-config consumers receive each new secret; once nothing holds the previous robot's
 * secret it is refreshed at Harbor (and dropped), and the registry refuses it. A wrong admin
 * login, a 429 and an outage each fail the rotation with their own code, and leave the current
 * secret current, delivered and working.
 */

const ROBOTS = ["robot$library+pullkeeper-blue", "robot$library+pullkeeper-green"];

let world: SourceWorld<FakeHarbor>;
const robotId = (login: string) => world.fake.robots().find((r) => r.name === login)?.id;
const refreshes = (login: string) => world.fake.requests.filter((r) => r.method === "PATCH" && r.path === `/robots/${robotId(login)}` && r.status === 200).length;

beforeAll(async () => {
  world = await startSourceWorld(
    async (registry) => {
      const harbor = await FakeHarbor.start({ registry, admin: HARBOR_ADMIN });
      return {
        fake: harbor,
        kind: "generic",
        source: `type: harbor-robot\napi: "${harbor.url.replace(/\/api\/v2\.0$/, "")}"\nproject: library\nlifetime: 30d\nrotation: rate(1 day)`,
        admin: HARBOR_ADMIN,
        stop: () => harbor.close(),
      };
    },
    // Both robots open the registry during the overlap: world.overlaps.
    { recordOverlaps: true },
  );
}, 120_000);

afterAll(() => world?.stop());

describe("the Harbor source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice, the two robots taking turns: both open the registry during the overlap; every consumer gets each secret; the previous robot's secret is refreshed once unused and refused", { timeout: 240_000 }, async () => {
    expect((await world.first()).username).toBe(ROBOTS[0]);
    expect(world.fake.robots().map((r) => r.name)).toEqual([ROBOTS[0]]);
    const last = await rotatesTwice(world, (previous, next) => {
      // The other robot: blue, green, blue.
      expect(next.username).toBe(ROBOTS.find((r) => r !== previous.username));
      // Nothing holds the previous secret any more: refreshed at Harbor (the first turn of each robot created it).
      expect(refreshes(previous.username)).toBeGreaterThanOrEqual(1);
    });

    // Two robots at Harbor, pull-only on the project, living 30 days from their last issue.
    const robots = world.fake.robots();
    expect(robots.map((r) => r.name).sort()).toEqual(ROBOTS);
    for (const robot of robots) {
      expect(robot.permissions).toEqual([{ kind: "project", namespace: "library", access: [{ resource: "repository", action: "pull" }] }]);
      expect(robot.disable).toBe(false);
    }
    const currentRobot = robots.find((r) => r.name === last.username);
    expect((currentRobot?.expiresAt ?? 0) * 1000).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(world.fake.violations).toEqual([]);
  });

  sourceFaultTests(
    () => world,
    {
      rejectAdmin: () => void (world.fake.admin = { username: HARBOR_ADMIN.username, password: "not-the-admin-password" }),
      acceptAdmin: () => void (world.fake.admin = HARBOR_ADMIN),
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      // Every robot: names, secrets' expiry, permissions, enabled.
      snapshot: () => world.fake.robots(),
    },
    /Harbor/,
    {
      // The rotation after the faults went into the other robot, and Harbor saw no request outside its API description.
      settled: async (w, previous) => {
        expect((await w.current()).username).toBe(ROBOTS.find((r) => r !== previous.username));
        expect(world.fake.violations).toEqual([]);
      },
    },
  );
});
