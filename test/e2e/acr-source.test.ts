import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACR_ADMIN, ACR_SUBSCRIPTION, ACR_TENANT, defaultAcrOptions, FakeAcr } from "../support/fake-acr.js";
import { eventually } from "./support/harness.js";
import { sourceFaultTests } from "./support/source-faults.js";
import { type SourceWorld, startSourceWorld } from "./support/source-world.js";

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
/** What the registry said to the current and to the staged password while a rotation was under way (testSecret done, not yet promoted). */
const overlaps: { versionId: string; current: number; pending: number }[] = [];

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
    {
      // The rotation holds the registry's lock until finishSecret: nothing is revoked yet. (The first rotation may run before the world is returned.)
      afterRotationStep: async (step, token) => {
        if (step !== "testSecret" || world === undefined) return;
        const secret = world.runtime.config.registries.find((r) => r.id === world.id)?.secret ?? "";
        const staged = await world.runtime.vault.read(secret, { stage: "AWSPENDING" });
        overlaps.push({ versionId: token, current: await world.opens(await world.current()), pending: await world.opens(staged.credential) });
      },
    },
  );
}, 120_000);

afterAll(() => world?.stop());

/** The slot each successful GenerateCredentials regenerated, in order. */
const generated = () => world.fake.requests.filter((r) => r.path.endsWith("/generateCredentials") && r.status === 200).map((r) => (r.body as { name?: string }).name);
/** The ledger records the revocation just after ARM removed the slot: the next rotation needs that slot free. */
const revoked = (versionId: string) => eventually(async () => ((await world.runtime.ledger.version(world.id, versionId))?.revoked ? true : undefined), 30_000, `version ${versionId} recorded revoked`);

describe("the ACR source in the embedded runtime (issue 14, Done means)", () => {
  it("rotates twice, the two password slots taking turns: both open the registry during the overlap; each password reaches every consumer and opens the registry; the previous slot is removed once unused, and the registry refuses it", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime.ledger.registryState(world.id))?.current?.versionId, 60_000, "the first rotation");
    const first = await world.current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe("pullkeeper");
    expect(await world.opens(first)).toBe(200);
    await world.allHold(first);
    expect(generated()).toEqual(["password1"]);

    let previous = first;
    for (const [round, slot] of (["password2", "password1"] as const).entries()) {
      const rotated = await world.rotate();
      expect(rotated, JSON.stringify(rotated.body)).toMatchObject({ status: 200, body: { outcome: "rotated" } });
      const next = await world.current();
      expect(next.versionId).toBe(rotated.body.versionId);
      expect(next.username).toBe("pullkeeper");
      expect(next.password.reveal() === previous.password.reveal()).toBe(false);
      expect(generated().at(-1), `round ${round}`).toBe(slot);
      // While the rotation ran, both slots' passwords opened the registry.
      expect(overlaps.find((o) => o.versionId === next.versionId)).toEqual({ versionId: next.versionId, current: 200, pending: 200 });
      expect(await world.opens(next)).toBe(200);
      await world.allHold(next);
      // Nothing holds the previous password any more: its slot is removed from the token, and the registry refuses it.
      await expect.poll(() => world.opens(previous), { timeout: 30_000, interval: 200 }).toBe(401);
      await revoked(previous.versionId);
      expect(world.fake.token("pullkeeper")?.passwords.map((p) => p.name)).toEqual([slot]);
      expect(await world.opens(next)).toBe(200);
      previous = next;
    }

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

  sourceFaultTests(
    () => world,
    {
      rejectAdmin: () => {
        world.fake.admin = { ...ACR_ADMIN, clientSecret: "not-the-client-secret" };
      },
      acceptAdmin: () => {
        world.fake.admin = ACR_ADMIN;
      },
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      snapshot: () => world.fake.token("pullkeeper"),
    },
    /Azure/,
  );

  it("a Retry-After pauses Azure's bucket in the shared limiter: a short one is waited out before anything is sent, a long one fails the rotation unsent", { timeout: 60_000 }, async () => {
    await revoked((await world.runtime.ledger.registryState(world.id))?.previousVersionId ?? "");
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
