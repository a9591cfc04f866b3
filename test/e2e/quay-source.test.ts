import type { Credential } from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeQuay, QUAY_ADMIN_TOKEN } from "../support/fake-quay.js";
import { eventually } from "./support/harness.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { type SourceWorld, startSourceWorld } from "./support/source-world.js";

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
/** What the registry said to the current and to the staged token while a rotation was under way (testSecret done, not yet promoted). */
const overlaps: { versionId: string; current?: { username: string; status: number }; pending: { username: string; status: number } }[] = [];
/** Each rotation the fault tests asked for: its answer, what stayed staged, and the robot before and after. */
const asked: { answer: { status: number; body: Record<string, unknown> }; staged: string | undefined; before: Credential & { versionId: string }; after: string }[] = [];

/** The staged (AWSPENDING) version, which the source world does not offer. */
async function pending(): Promise<(Credential & { versionId: string }) | undefined> {
  const secret = world.runtime.config.registries.find((r) => r.id === world.id)?.secret ?? "";
  const stored = await world.runtime.vault.read(secret, { stage: "AWSPENDING" }).catch(() => undefined);
  return stored && Object.assign(stored.credential, { versionId: stored.versionId });
}
/** The ledger records the revocation just after Quay regenerated the token: the next rotation needs that robot's slot free. */
const revoked = (versionId: string) => eventually(async () => ((await world.runtime.ledger.version(world.id, versionId))?.revoked ? true : undefined), 30_000, `version ${versionId} recorded revoked`);
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
    {
      // The rotation holds the registry's lock until finishSecret, so nothing is revoked yet: the overlap.
      // (The first rotation may run before the world is returned: it has no other robot to overlap with.)
      afterRotationStep: async (step, token) => {
        if (step !== "testSecret" || world === undefined) return;
        const staged = await pending();
        const now = await world.current().catch(() => undefined);
        overlaps.push({
          versionId: token,
          ...(now !== undefined && now.versionId !== token && { current: { username: now.username, status: await world.opens(now) } }),
          pending: { username: staged?.username ?? "", status: staged ? await world.opens(staged) : 0 },
        });
      },
    },
  );
}, 120_000);

afterAll(() => world?.stop());

describe("the Quay source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice, the two robots taking turns: both open the registry during the overlap; every consumer gets each token; the previous robot's token is regenerated once unused and refused", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime.ledger.registryState(world.id))?.current?.versionId, 60_000, "the first rotation");
    const first = await world.current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe(ROBOTS[0]);
    expect(await world.opens(first)).toBe(200);
    await world.allHold(first);
    expect(world.fake.robots().map((r) => r.name)).toEqual([ROBOTS[0]]);

    let previous = first;
    for (let round = 0; round < 2; round++) {
      const rotated = await world.rotate();
      expect(rotated, JSON.stringify(rotated.body)).toMatchObject({ status: 200, body: { outcome: "rotated" } });
      const next = await world.current();
      expect(next.versionId).toBe(rotated.body.versionId);
      // The other robot: blue, green, blue.
      expect(next.username).toBe(ROBOTS[(round + 1) % 2]);
      expect(next.password.reveal()).not.toBe(previous.password.reveal());
      // While the rotation ran, both robots' tokens opened the registry.
      expect(overlaps.find((o) => o.versionId === next.versionId)).toEqual({ versionId: next.versionId, current: { username: previous.username, status: 200 }, pending: { username: next.username, status: 200 } });
      expect(await world.opens(next)).toBe(200);
      await world.allHold(next);
      // Nothing holds the previous token any more (docker-config consumers list no environments): regenerated at Quay, and refused.
      await expect.poll(() => world.opens(previous), { timeout: 30_000, interval: 200 }).toBe(401);
      await revoked(previous.versionId);
      // Each robot was created by its first rotation; its one regenerate so far is the revocation's.
      expect(regenerations(previous.username)).toBe(1);
      expect(await world.opens(next)).toBe(200);
      previous = next;
    }

    // Two robots at Quay, the current one holding the token pullkeeper delivered; the other's token is no one's.
    expect(world.fake.robots().map((r) => r.name).sort()).toEqual(ROBOTS);
    expect(world.fake.robots().every((r) => r.description === `pullkeeper: registry ${world.id}; its token is rotated by pullkeeper`)).toBe(true);
    expect(world.fake.violations).toEqual([]);
  });

  sourceFaultTests(
    // Each rotation the fault tests ask for is recorded, for the Quay-specific checks below.
    () => ({
      ...world,
      rotate: async () => {
        const before = await world.current();
        const answer = await world.rotate();
        asked.push({ answer, staged: (await pending())?.versionId, before, after: (await world.current()).username });
        return answer;
      },
    }),
    {
      rejectAdmin: () => void (world.fake.token = "not-the-admin-token"),
      acceptAdmin: () => void (world.fake.token = QUAY_ADMIN_TOKEN),
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      // Every robot: names, descriptions, metadata (its token is not shown).
      snapshot: () => world.fake.robots(),
    },
    /Quay/,
  );

  it("the failed rotations showed no admin token and left nothing staged; the one after them went into the other robot", async () => {
    const failed = asked.filter((a) => a.answer.status !== 200);
    expect(failed).toHaveLength(3);
    for (const { answer, staged, before, after } of failed) {
      expect(JSON.stringify(answer.body)).not.toContain(QUAY_ADMIN_TOKEN);
      // Nothing staged but the current version: the next rotation starts afresh.
      expect(staged ?? before.versionId).toBe(before.versionId);
      expect(after).toBe(before.username);
    }
    const [again] = asked.filter((a) => a.answer.status === 200);
    expect(again?.after).toBe(ROBOTS.find((r) => r !== again?.before.username));
    expect(world.fake.violations).toEqual([]);
  });
});
