import { HmacFingerprinter } from "@pullkeeper/aws";
import { credential, PropagationService, type Registry, RefreshService } from "@pullkeeper/core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { startDynalite } from "../support/dynalite.js";
import { CrashPoints, type Step } from "./crash-points.js";
import { drainQueue, handleEvents } from "./flow.js";
import { adapters, cloneWorld, CONSUMER_IDS, consumers as rotatedConsumers, newWorld, type World, type Wrap } from "./world.js";

/**
 * A minted token's refresh (ECR's kind: every mint a new token) and its deliveries, with the
 * process killed before each write, one scenario per write of a clean run. Recovery is what the
 * platform does next: the refresh schedule's next run, EventBridge's retries, reconcile, SQS.
 * Then vault and ledger agree, every consumer holds the current token (written once, twice only
 * where the crash cut a write off from its record) and never one the registry refused.
 */

const dynamo = await startDynalite();
const dir = await mkdtemp(join(tmpdir(), "pullkeeper-crash-refresh-"));
afterAll(async () => {
  await dynamo.stop();
  await rm(dir, { recursive: true, force: true });
});

const HOUR = 3600_000;
const ecr: Registry = { id: "reg", host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", kind: "ecr", source: { type: "ecr-token", account: "123456789012", region: "eu-west-1" }, secret: "pullkeeper/crash-ecr", verify: {} } as Registry;

/** ECR: a new 12-hour token per GetAuthorizationToken; the registry accepts every one it issued. */
function containerOf(world: World, wrap?: Wrap) {
  const ports = adapters(world, wrap);
  const tokens = (wrap ?? ((_p, a) => a))("tokens", {
    mint: async () => {
      const password = `ecr-${world.time.ms}`;
      world.provider.valid.set(password, password);
      return { credential: credential("AWS", password), issuedAt: world.clock.now(), expiresAt: new Date(world.time.ms + 12 * HOUR) };
    },
  });
  const verifier = { verify: async ({ credential: c }: { credential: ReturnType<typeof credential> }) => ({ status: world.provider.valid.has(c.password.reveal()) ? ("ok" as const) : ("unauthorized" as const), detail: "GET /v2/", checkedAt: world.clock.now() }) };
  const fingerprints = new HmacFingerprinter(Buffer.alloc(32, 9));
  const consumers = rotatedConsumers.map((c) => ({ ...c, registryId: ecr.id }));
  return {
    refresh: new RefreshService({ vault: ports.vault, verifier, ledger: ports.ledger, bus: ports.bus, fingerprints, clock: world.clock, tokens }),
    propagation: new PropagationService({ registries: [ecr], consumers, targets: new Map([["counting", ports.target]]), vault: ports.vault, ledger: ports.ledger, queue: ports.queue, bus: ports.bus, rateLimiter: { acquire: async () => undefined, pause: async () => undefined, pausedUntil: async () => undefined }, clock: world.clock, random: () => 0.5 }),
    ledger: ports.ledger,
  };
}

/** One refresh run and what it sets off: its events, its deliveries. */
async function refreshStory(world: World, c: ReturnType<typeof containerOf>): Promise<void> {
  await c.refresh.run([ecr]);
  await handleEvents(world, c);
  await drainQueue(world, c);
}

/** A registry with its first token delivered everywhere. */
const base = await newWorld(dynamo, dir);
await new LocalVault({ dir: base.vaultDir }).createSecret(ecr.secret);
await refreshStory(base, containerOf(base));
const first = (await new LocalVault({ dir: base.vaultDir }).read(ecr.secret, { stage: "AWSCURRENT" })).versionId;

async function run(crashAt?: number) {
  const world = await cloneWorld(base, dir);
  // Due again: past half of the first token's life.
  world.time.ms += 7 * HOUR;
  const points = new CrashPoints(crashAt);
  await refreshStory(world, containerOf(world, points.wrap)).catch(() => undefined);
  return { world, points };
}

const clean = await run();
const steps: readonly Step[] = clean.points.steps;
const at = (label: string) => steps.findIndex((s) => s.label === label);
const between = (n: number, done: string, record: string) => at(done) < n && n <= at(record);

describe("killed before each write of a refresh and its deliveries, then recovered", () => {
  it("the clean run writes the token, records it, announces it and delivers it", () => {
    expect(steps.map((s) => s.label)).toEqual(expect.arrayContaining(["ledger.recordWriteIntent", "vault.putCurrent", "ledger.recordCurrentVersion", "bus.publish(Credential Rotated)", "target.deliver(alpha)"]));
  });

  for (const step of steps) {
    it(`#${step.index} ${step.label}`, async () => {
      const { world, points } = await run(step.index);
      expect(points.crashed).toBe(true);
      expect(points.steps.at(-1)).toEqual(step);
      for (let round = 0; round < 2; round++) {
        // The refresh schedule's next run (every 30 minutes), EventBridge's retries, reconcile, SQS.
        world.time.ms += 30 * 60_000;
        const c = containerOf(world);
        await c.refresh.run([ecr]);
        await handleEvents(world, c);
        await c.propagation.reconcile();
        await drainQueue(world, c);
      }
      const vault = new LocalVault({ dir: world.vaultDir });
      const current = await vault.read(ecr.secret, { stage: "AWSCURRENT" });
      const state = await containerOf(world).ledger.registryState(ecr.id);
      expect(state?.current?.versionId).toBe(current.versionId);
      const versions = Object.keys((await vault.describe(ecr.secret)).versions).filter((v) => v !== first);
      // Exactly one new version, wherever the crash fell: one written and never recorded is taken
      // up by the next run through its write intent, not replaced by a second token.
      expect(versions).toHaveLength(1);
      for (const id of CONSUMER_IDS) {
        expect(world.stores.holds(id)?.versionId, id).toBe(current.versionId);
        const twice = between(step.index, `target.deliver(${id})`, `ledger.recordDelivered(${id})`);
        expect(world.stores.count(id, current.versionId), id).toBe(twice ? 2 : 1);
        for (const w of world.stores.writes.filter((x) => x.consumerId === id)) expect(world.provider.valid.has(w.password), id).toBe(true);
      }
      expect(world.queue).toEqual([]);
    });
  }
});
