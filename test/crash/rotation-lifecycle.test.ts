import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { startDynalite } from "../support/dynalite.js";
import { CrashPoints, type Step } from "./crash-points.js";
import { beginRotation, lifecycle, recover } from "./flow.js";
import { ledgerItems } from "./state.js";
import { adapters, cloneWorld, CONSUMER_IDS, newWorld, nextToken, registry, services, type World } from "./world.js";

/**
 * A rotation's whole life — the four rotation steps, the Credential Rotated event, one delivery
 * per consumer, the revocation of the version it replaced — with the process killed before each
 * write it makes, one scenario per write, enumerated from a clean run (a new adapter call in any
 * use case becomes a new scenario by itself). After each crash the platform recovers as it would
 * (Secrets Manager's reattempt, EventBridge's and SQS's redelivery, the revoke and reconcile
 * schedules), in fresh containers over the same dynalite and vault. Then: exactly one new
 * version, every consumer holds it (written once; twice only for the consumer whose write the
 * crash cut off from its record), the old one revoked once, vault and ledger agreeing.
 */

const dynamo = await startDynalite();
const dir = await mkdtemp(join(tmpdir(), "pullkeeper-crash-"));
afterAll(async () => {
  await dynamo.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A registry with one rotation behind it (version 1, delivered everywhere). */
const base = await newWorld(dynamo, dir);
const previous = nextToken(base);
await beginRotation(base, previous);
await lifecycle(base, services(base, adapters(base)), previous);

/** The base world, copied, with a second rotation requested. */
async function rotationDue(): Promise<{ world: World; previous: string; token: string }> {
  const world = await cloneWorld(base, dir);
  const token = nextToken(world);
  await beginRotation(world, token);
  return { world, previous, token };
}

async function run(crashAt?: number) {
  const { world, previous, token } = await rotationDue();
  const points = new CrashPoints(crashAt);
  const outcome = await lifecycle(world, services(world, adapters(world, points.wrap)), token).then(
    () => "finished",
    (error: unknown) => error,
  );
  return { world, previous, token, points, outcome };
}

const clean = await run();
const steps: readonly Step[] = clean.points.steps;
const at = (label: string) => steps.findIndex((s) => s.label === label);
/** Crashing before step n falls between a side effect at `done` and the record of it at `record`. */
const between = (n: number, done: string, record: string) => at(done) < n && n <= at(record);

describe("the clean run the crash points come from", () => {
  it("goes through every kind of write: rotation, ledger, event, queue, delivery, revocation", () => {
    expect(clean.outcome).toBe("finished");
    const labels = steps.map((s) => s.label);
    for (const expected of ["ledger.acquireLock", "issuer.issue", "vault.stagePending", "vault.promote", "ledger.recordCurrentVersion", "bus.publish(Credential Rotated)", "ledger.markPending(alpha)", "queue.send(alpha)", "target.deliver(gamma)", "ledger.recordDelivered(gamma)", "revoker.revoke", "ledger.recordRevoked", "bus.publish(Credential Revoked)"]) {
      expect(labels).toContain(expected);
    }
  });
});

describe("killed before each write of a rotation's life, then recovered", () => {
  for (const step of steps) {
    it(`#${step.index} ${step.label}`, async () => {
      const { world, previous, token, points, outcome } = await run(step.index);
      // The revoke schedule reports a registry's failure instead of throwing: the run may "finish".
      expect(points.crashed).toBe(true);
      expect(outcome === "finished" || (outcome as Error).name === "Crash").toBe(true);
      // The same story up to the crash: the scenario is the step it claims to be.
      expect(points.steps.at(-1)).toEqual(step);

      const container = () => services(world, adapters(world));
      await recover(world, container);

      // Exactly one new version, current in the vault and the ledger alike.
      const description = await new LocalVault({ dir: world.vaultDir }).describe(registry.secret);
      expect(description.versions).toEqual({ [previous]: ["AWSPREVIOUS"], [token]: ["AWSCURRENT"] });
      const state = await adapters(world).ledger.registryState(registry.id);
      expect(state?.current?.versionId).toBe(token);
      expect(state?.previousVersionId).toBe(previous);
      const items = await ledgerItems(world);
      const versionItems = items.filter((i) => String(i.sk).startsWith("VER#")).map((i) => i.versionId).sort();
      expect(versionItems).toEqual([previous, token].sort());

      // Every consumer holds it, written once — twice only where the crash fell between the write and its record.
      for (const id of CONSUMER_IDS) {
        expect(world.stores.holds(id)?.versionId, id).toBe(token);
        const twice = between(step.index, `target.deliver(${id})`, `ledger.recordDelivered(${id})`);
        expect(world.stores.count(id, token), id).toBe(twice ? 2 : 1);
        const record = await adapters(world).ledger.consumerDelivery(registry.id, id);
        expect(record, id).toMatchObject({ state: "delivered", deliveredVersionId: token });
      }
      expect(world.queue).toEqual([]);

      // The old version revoked: at the provider, in the ledger and in the history, announced once.
      expect([...world.provider.valid.keys()]).toEqual([`tok-${token}`]);
      const again = between(step.index, "revoker.revoke", "ledger.recordRevoked");
      expect(world.provider.revokeCalls).toEqual(again ? [previous, previous] : [previous]);
      expect((await adapters(world).ledger.version(registry.id, previous))?.revoked).toMatchObject({ reason: "unused" });
      expect(await adapters(world).ledger.revocationStatus(registry.id)).toMatchObject({ versionId: previous, state: "revoked" });
      // Announced once, or twice where the crash fell between the announcement and the status that says it went out.
      const history = (await adapters(world).ledger.history(registry.id, { limit: 100 })).items;
      const revokedTwice = between(step.index, "ledger.appendHistory(revoked)", "ledger.recordRevocationStatus");
      expect(history.filter((h) => h.type === "revoked")).toHaveLength(revokedTwice ? 2 : 1);
      const revokeAnnouncedTwice = between(step.index, "bus.publish(Credential Revoked)", "ledger.recordRevocationStatus");
      expect(world.bus.filter((b) => b.event.type === "Credential Revoked")).toHaveLength(revokeAnnouncedTwice ? 2 : 1);
      // Recorded and announced as current: once, or twice where the crash fell between announcing
      // and recording (repair announces again rather than lose it), never not at all.
      const rotatedTwice = between(step.index, "ledger.appendHistory(rotated)", "ledger.recordCurrentVersion");
      expect(history.filter((h) => h.type === "rotated" && h.versionId === token)).toHaveLength(rotatedTwice ? 2 : 1);
      const announcedTwice = between(step.index, "bus.publish(Credential Rotated)", "ledger.recordCurrentVersion");
      expect(world.bus.filter((b) => b.event.type === "Credential Rotated" && b.event.detail.versionId === token)).toHaveLength(announcedTwice ? 2 : 1);
    });
  }
});
