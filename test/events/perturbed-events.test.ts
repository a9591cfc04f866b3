import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDynalite } from "../support/dynalite.js";
import { beginRotation, rotate } from "../crash/flow.js";
import { snapshot, type StateSnapshot } from "../crash/state.js";
import { adapters, newWorld, nextToken, services, type World } from "../crash/world.js";
import { envelope, handlers } from "./handlers.js";

/**
 * The event-driven functions (on-secret-change, deliver, reconcile, revoke) fed the events of a
 * story of rotations duplicated three times, in reverse order (the newer version's first) and
 * hours late: the whole end state — every ledger item with its history, the vault's versions,
 * what each consumer holds, what the provider still accepts and what was revoked, the events —
 * equals the clean run's, with only the instants and random keys normalised away.
 */

const dynamo = await startDynalite();
const dir = await mkdtemp(join(tmpdir(), "pullkeeper-events-"));
afterAll(async () => {
  await dynamo.stop();
  await rm(dir, { recursive: true, force: true });
});

/** How the platform hands over what is pending: how many copies, in which order, how late. */
interface Delivery {
  readonly copies: number;
  readonly reverse: boolean;
  readonly delayMs: number;
}
const CLEAN: Delivery = { copies: 1, reverse: false, delayMs: 0 };
const HOURS = 3 * 3600_000;

const order = <T>(items: T[], d: Delivery): T[] => {
  const ordered = d.reverse ? [...items].reverse() : items;
  // Copies back to back, and again after the others: a duplicate may come at once or late.
  return d.copies === 1 ? ordered : [...ordered.flatMap((i) => Array.from({ length: d.copies - 1 }, () => i)), ...ordered];
};

/** The Credential Rotated events not handed over yet, to on-secret-change. */
async function handOverEvents(world: World, d: Delivery): Promise<void> {
  const h = handlers(world);
  const rotated = world.bus.filter((b) => !b.handled && b.event.type === "Credential Rotated");
  for (const b of rotated) b.handled = true;
  world.time.ms += d.delayMs;
  for (const b of order(rotated, d)) await h.onSecretChange(envelope(world, b.event.type, "pullkeeper", b.event.detail));
}

/** Everything pending now: the Credential Rotated events, then the queue until it is empty, then the revoke schedule. */
async function dispatch(world: World, d: Delivery): Promise<void> {
  const h = handlers(world);
  await handOverEvents(world, d);
  for (let round = 0; round < 10 && world.queue.length > 0; round++) {
    const batch = world.queue.splice(0);
    world.time.ms += d.delayMs;
    let receive = 0;
    for (const message of order(batch, d)) await h.deliver(message, ++receive);
  }
  world.time.ms += d.delayMs + 60_000;
  for (let i = 0; i < d.copies; i++) await h.revoke();
}

/** After the story: the schedules run until nothing is left (what every run converges to). */
async function settle(world: World): Promise<void> {
  const h = handlers(world);
  for (let i = 0; i < 2; i++) {
    world.time.ms += 20 * 60_000;
    await h.reconcile();
    for (const message of world.queue.splice(0)) await h.deliver(message, 1);
    await h.revoke();
  }
}

async function rotation(world: World): Promise<void> {
  const token = nextToken(world);
  await beginRotation(world, token);
  await rotate(services(world, adapters(world)), token);
}

const STORIES: Record<string, (world: World, d: Delivery) => Promise<void>> = {
  // Each rotation's events are handed over before the next rotation.
  "two rotations, each handled before the next": async (world, d) => {
    await rotation(world);
    await dispatch(world, d);
    await rotation(world);
    await dispatch(world, d);
  },
  // v1's deliveries are still queued when v2 is rotated and planned: reversed, v2's messages come first.
  "the second rotation before the first's deliveries": async (world, d) => {
    await rotation(world);
    await handOverEvents(world, d);
    await rotation(world);
    await dispatch(world, d);
  },
  // Both rotations happen before any event is handed over: reversed, v2's event comes before v1's.
  "two rotations, their events handled together": async (world, d) => {
    await rotation(world);
    await rotation(world);
    await dispatch(world, d);
  },
};

async function play(story: string, d: Delivery): Promise<StateSnapshot> {
  const world = await newWorld(dynamo, dir);
  await STORIES[story]!(world, d);
  await settle(world);
  return snapshot(world);
}

const PERTURBED: Record<string, Delivery> = {
  "duplicated ×3": { copies: 3, reverse: false, delayMs: 0 },
  "reordered (newest first)": { copies: 1, reverse: true, delayMs: 0 },
  "delayed by hours": { copies: 1, reverse: false, delayMs: HOURS },
  "all three at once": { copies: 3, reverse: true, delayMs: HOURS },
};

for (const story of Object.keys(STORIES)) {
  describe(story, () => {
    let clean: StateSnapshot;
    it("the clean run ends with the second version everywhere and the first revoked", async () => {
      clean = await play(story, CLEAN);
      const versions = Object.keys(clean.vault).sort();
      expect(versions).toHaveLength(2);
      const [v1, v2] = versions as [string, string];
      expect(clean.vault).toEqual({ [v1]: ["AWSPREVIOUS"], [v2]: ["AWSCURRENT"] });
      expect(clean.consumers).toEqual({ alpha: v2, beta: v2, gamma: v2 });
      for (const id of Object.keys(clean.consumers)) expect(clean.writes[id]?.[v2], id).toBe(1);
      expect(clean.providerAccepts).toEqual([`tok-${v2}`]);
      expect(clean.revokedVersions).toEqual([v1]);
    });
    for (const [name, d] of Object.entries(PERTURBED)) {
      it(`${name}: the same end state`, async () => {
        expect(await play(story, d)).toEqual(clean);
      });
    }
  });
}
