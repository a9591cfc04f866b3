import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeQuay, QUAY_ADMIN_TOKEN } from "../support/fake-quay.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { rotatesTwice, type SourceWorld, startSourceWorld } from "./support/source-world.js";

/**
 * Issue 14's "Done means" for the Quay source, in the embedded runtime: the fake Quay (every
 * request checked against Quay's API description) keeps two organization robots whose tokens a
 * real docker-registry accepts. Rotated twice, the robots take turns: during the overlap both
 * robots' tokens open the registry; both docker-config consumers receive each new token; once
 * nothing holds the previous robot's token it is regenerated at Quay (and dropped), and the
 * registry refuses it. A wrong admin token, a 429 and an outage each fail the rotation with their
 * own code, and leave the current token current, delivered and working.
 */

const ROBOTS = ["acme+pullkeeper_blue", "acme+pullkeeper_green"];

let world: SourceWorld<FakeQuay>;
const regenerations = (login: string) => world.fake.requests.filter((r) => r.method === "POST" && r.path.endsWith(`/robots/${login.split("+")[1]}/regenerate`) && r.status === 200).length;

beforeAll(async () => {
  world = await startSourceWorld(
    async (registry) => {
      const quay = await FakeQuay.start({ registry, token: QUAY_ADMIN_TOKEN, orgs: ["acme"] });
      return {
        fake: quay,
        kind: "quay",
        source: `type: quay-robot\norganization: acme\nrotation: rate(1 day)\napi: "${quay.url}"`,
        admin: { username: "pullkeeper", password: QUAY_ADMIN_TOKEN },
        stop: () => quay.close(),
      };
    },
    // Both robots open the registry during the overlap: world.overlaps.
    { recordOverlaps: true },
  );
}, 120_000);

afterAll(() => world?.stop());

describe("the Quay source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice, the two robots taking turns: both open the registry during the overlap; every consumer gets each token; the previous robot's token is regenerated once unused and refused", { timeout: 240_000 }, async () => {
    expect((await world.first()).username).toBe(ROBOTS[0]);
    expect(world.fake.robots().map((r) => r.name)).toEqual([ROBOTS[0]]);
    const last = await rotatesTwice(world, (previous, next) => {
      // The other robot: blue, green, blue.
      expect(next.username).toBe(ROBOTS.find((r) => r !== previous.username));
      // Each robot was created by its first rotation; its one regenerate so far is the revocation's.
      expect(regenerations(previous.username)).toBe(1);
    });

    // Two robots at Quay, the current one holding the token pullkeeper delivered; the other's token is no one's.
    expect(world.fake.robots().map((r) => r.name).sort()).toEqual(ROBOTS);
    expect(world.fake.robots().find((r) => r.name === last.username)).toBeDefined();
    expect(world.fake.robots().every((r) => r.description === `pullkeeper: registry ${world.id}; its token is rotated by pullkeeper`)).toBe(true);
    expect(world.fake.violations).toEqual([]);
  });

  sourceFaultTests(
    () => world,
    {
      rejectAdmin: () => void (world.fake.token = "not-the-admin-token"),
      acceptAdmin: () => void (world.fake.token = QUAY_ADMIN_TOKEN),
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      // Every robot: names, descriptions, metadata (its token is not shown).
      snapshot: () => world.fake.robots(),
    },
    /Quay/,
    {
      // The rotation after the faults went into the other robot, and Quay saw no request outside its API description.
      settled: async (w, previous) => {
        expect((await w.current()).username).toBe(ROBOTS.find((r) => r !== previous.username));
        expect(world.fake.violations).toEqual([]);
      },
    },
  );
});
