import { ROTATION_STEPS } from "@pullkeeper/core";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { registry, type Services, type World } from "./world.js";

/**
 * How the platform drives the use cases, as on AWS: Secrets Manager sends the four rotation steps
 * with one token; EventBridge hands each event to on-secret-change and retries one whose handler
 * failed; SQS hands each message to deliver and keeps it until a handler returned; the revoke
 * and reconcile schedules run. Each function is one "container" working over `Services`.
 */

/** Secrets Manager's RotateSecret: labels a valueless version AWSPENDING, before any Lambda runs. */
export async function beginRotation(world: World, token: string): Promise<void> {
  await new LocalVault({ dir: world.vaultDir, clock: world.clock }).beginRotation(registry.secret, token);
}

/** Secrets Manager invoking the rotation function for each step of one rotation. */
export async function rotate(s: Services, token: string): Promise<void> {
  for (const step of ROTATION_STEPS) await s.rotation.step(step, registry, token);
}

/** EventBridge: every event not yet handled goes to on-secret-change (the others have no rule here). */
export async function handleEvents(world: World, s: Pick<Services, "propagation">): Promise<void> {
  for (const entry of world.bus) {
    if (entry.handled) continue;
    if (entry.event.type === "Credential Rotated") await s.propagation.propagate(entry.event.detail.registryId);
    entry.handled = true;
  }
}

/** SQS: each message to deliver; it leaves the queue only once the handler returned. */
export async function drainQueue(world: World, s: Pick<Services, "propagation">, limit = 50): Promise<void> {
  for (let n = 0; n < limit && world.queue.length > 0; n++) {
    const message = world.queue[0]!;
    await s.propagation.deliver(message.request);
    world.queue.splice(world.queue.indexOf(message), 1);
  }
}

/** The clean story of one rotation (RotateSecret already called): the four steps, its event, its deliveries, the revoke schedule. */
export async function lifecycle(world: World, s: Services, token: string): Promise<void> {
  await rotate(s, token);
  await handleEvents(world, s);
  await drainQueue(world, s);
  world.time.ms += 60_000;
  await s.revocation.run();
}

/** The unfinished rotation's token, if Secrets Manager's AWSPENDING label still marks one. */
export async function pendingToken(world: World): Promise<string | undefined> {
  const versions = (await new LocalVault({ dir: world.vaultDir, clock: world.clock }).describe(registry.secret)).versions;
  return Object.entries(versions).find(([, stages]) => stages.includes("AWSPENDING"))?.[0];
}

/**
 * After a crash, what the platform does next, each in a fresh container, round after round until
 * nothing is left (each round 16 minutes later: past the registry lock's 15-minute lease, which a
 * dead holder never released): Secrets Manager reattempts a rotation its AWSPENDING label shows
 * unfinished, with the same token; the revoke schedule runs (repair first); EventBridge retries
 * the events whose handler died; reconcile runs; SQS redelivers what is still queued.
 */
export async function recover(world: World, container: () => Services): Promise<void> {
  for (let round = 0; round < 3; round++) {
    world.time.ms += 16 * 60_000;
    const pending = await pendingToken(world);
    if (pending !== undefined) await rotate(container(), pending);
    await container().revocation.run();
    await handleEvents(world, container());
    await container().propagation.reconcile();
    await drainQueue(world, container());
    world.time.ms += 60_000;
    await container().revocation.run();
    // Settled: nothing queued, no event waiting for its handler, no rotation unfinished.
    if (world.queue.length === 0 && world.bus.every((b) => b.handled) && (await pendingToken(world)) === undefined) return;
  }
}
