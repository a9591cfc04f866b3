import type { Credential } from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeHarbor, HARBOR_ADMIN } from "../support/fake-harbor.js";
import { eventually } from "./support/harness.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { type SourceWorld, startSourceWorld } from "./support/source-world.js";

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
/** What the registry said to the current and to the staged secret while a rotation was under way (testSecret done, not yet promoted). */
const overlaps: { versionId: string; current?: { username: string; status: number }; pending: { username: string; status: number } }[] = [];
/** Each rotation the fault tests asked for: its answer, what stayed staged, and the robot before and after. */
const asked: { answer: { status: number; body: Record<string, unknown> }; staged: string | undefined; before: Credential & { versionId: string }; after: string }[] = [];

/** The staged (AWSPENDING) version, which the source world does not offer. */
async function pending(): Promise<(Credential & { versionId: string }) | undefined> {
  const secret = world.runtime.config.registries.find((r) => r.id === world.id)?.secret ?? "";
  const stored = await world.runtime.vault.read(secret, { stage: "AWSPENDING" }).catch(() => undefined);
  return stored && Object.assign(stored.credential, { versionId: stored.versionId });
}
/** The ledger records the revocation just after Harbor refreshed the secret: the next rotation needs that robot's slot free. */
const revoked = (versionId: string) => eventually(async () => ((await world.runtime.ledger.version(world.id, versionId))?.revoked ? true : undefined), 30_000, `version ${versionId} recorded revoked`);
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

describe("the Harbor source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice, the two robots taking turns: both open the registry during the overlap; every consumer gets each secret; the previous robot's secret is refreshed once unused and refused", { timeout: 240_000 }, async () => {
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
      // While the rotation ran, both robots' secrets opened the registry.
      expect(overlaps.find((o) => o.versionId === next.versionId)).toEqual({ versionId: next.versionId, current: { username: previous.username, status: 200 }, pending: { username: next.username, status: 200 } });
      expect(await world.opens(next)).toBe(200);
      await world.allHold(next);
      // Nothing holds the previous secret any more (docker-config consumers list no environments): refreshed at Harbor, and refused.
      const before = refreshes(previous.username);
      await expect.poll(() => world.opens(previous), { timeout: 30_000, interval: 200 }).toBe(401);
      await revoked(previous.versionId);
      expect(refreshes(previous.username)).toBeGreaterThanOrEqual(Math.max(before, 1));
      // Only the current robot's secret opens the registry now.
      expect(await world.opens(next)).toBe(200);
      previous = next;
    }

    // Two robots at Harbor, pull-only on the project, living 30 days from their last issue.
    const robots = world.fake.robots();
    expect(robots.map((r) => r.name).sort()).toEqual(ROBOTS);
    for (const robot of robots) {
      expect(robot.permissions).toEqual([{ kind: "project", namespace: "library", access: [{ resource: "repository", action: "pull" }] }]);
      expect(robot.disable).toBe(false);
    }
    const currentRobot = robots.find((r) => r.name === previous.username);
    expect((currentRobot?.expiresAt ?? 0) * 1000).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(world.fake.violations).toEqual([]);
  });

  sourceFaultTests(
    // Each rotation the fault tests ask for is recorded, for the Harbor-specific checks below.
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
      rejectAdmin: () => void (world.fake.admin = { username: HARBOR_ADMIN.username, password: "not-the-admin-password" }),
      acceptAdmin: () => void (world.fake.admin = HARBOR_ADMIN),
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      // Every robot: names, secrets' expiry, permissions, enabled.
      snapshot: () => world.fake.robots(),
    },
    /Harbor/,
  );

  it("the failed rotations showed no admin password and left nothing staged; the one after them went into the other robot", async () => {
    const failed = asked.filter((a) => a.answer.status !== 200);
    expect(failed).toHaveLength(3);
    for (const { answer, staged, before, after } of failed) {
      expect(JSON.stringify(answer.body)).not.toContain(HARBOR_ADMIN.password);
      // Nothing staged but the current version: the next rotation starts afresh.
      expect(staged ?? before.versionId).toBe(before.versionId);
      expect(after).toBe(before.username);
    }
    const [again] = asked.filter((a) => a.answer.status === 200);
    expect(again?.after).toBe(ROBOTS.find((r) => r !== again?.before.username));
    expect(world.fake.violations).toEqual([]);
  });
});
