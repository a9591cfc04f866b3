import type { PullkeeperEvent } from "@pullkeeper/core";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { eventually } from "./support/harness.js";
import { allHold, api, CONSUMERS, consumerRows, type SafeRotationWorld, safeRotationWorld } from "./support/safe-rotation-world.js";

/**
 * Issue 11's "Done means", in the embedded runtime with a real docker-registry and the GitHub API
 * stand-in: the first write of a rotation answers 429 with Retry-After: 90. Every consumer still
 * ends up delivered and none failed; while they are throttled the credential they hold still opens
 * the registry; once all hold the new one and a scan found no environment, the old one answers
 * 401 — revoked exactly once. Then the same with the runtime SIGKILLed between the promotion and
 * the revocation.
 */

const RETRY_AFTER_S = 90;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const isSecretWrite = (r: { method: string; path: string }) => r.method === "PUT" && /\/secrets\/[A-Z0-9_]+$/.test(r.path);

/** The first secret write after this answers 429 Retry-After: 90, as GitHub's secondary limit does. */
function throttleFirstWrite(world: SafeRotationWorld): void {
  world.github.respond({
    status: 429,
    headers: { "retry-after": String(RETRY_AFTER_S) },
    body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits", status: "429" },
    match: isSecretWrite,
  });
}

/** Through the throttled window: every consumer behind but none failed, the old login still opening the registry. */
async function throughThePause(world: SafeRotationWorld, baseUrl: string, old: Awaited<ReturnType<SafeRotationWorld["login"]>>, v2: string, events: readonly PullkeeperEvent[]) {
  const throttledAt = await eventually(async () => world.github.requests.find((r) => isSecretWrite(r) && r.status === 429)?.at, 30_000, "the throttled first write");
  const checks: number[] = [];
  while (Date.now() < throttledAt + (RETRY_AFTER_S - 5) * 1000) {
    const rows = (await consumerRows(baseUrl, world.stateDir)).filter((r) => CONSUMERS.includes(r.id));
    expect(rows.map((r) => r.delivery?.state).filter((s) => s === "failed")).toEqual([]);
    // Not everyone holds v2 yet, so the old credential must still work.
    if (!rows.every((r) => r.delivery?.deliveredVersionId === v2)) checks.push(await world.opens(old));
    await new Promise((r) => setTimeout(r, 5_000));
  }
  expect(checks.length).toBeGreaterThan(5);
  expect(new Set(checks)).toEqual(new Set([200]));
  // Nobody wrote to GitHub inside the Retry-After window, not even the rest of a delivery already under way.
  const inWindow = world.github.requests.filter((r) => isSecretWrite(r) && r.at > throttledAt && r.at < throttledAt + RETRY_AFTER_S * 1000);
  expect(inWindow).toEqual([]);
  expect(events.filter((e) => e.type === "Delivery Failed")).toEqual([]);
  return throttledAt;
}

/** After every consumer holds v2: the old login works until a scan after the deliveries found no environment, then it is revoked once. */
async function revokedOnceUnused(world: SafeRotationWorld, baseUrl: string, old: Awaited<ReturnType<SafeRotationWorld["login"]>>, v2: string, events: readonly PullkeeperEvent[]) {
  await allHold(baseUrl, world.stateDir, v2, (RETRY_AFTER_S + 60) * 1000);
  expect(await world.opens(await world.login(v2))).toBe(200);
  // Codespaces can list their environments: without a scan since the delivery, the old login stays.
  const waiting = await eventually(async () => {
    const body = (await api(baseUrl, world.stateDir, "GET", "/v1/registries/local/versions")).body as { revocation: { state: string; reason: string } | null };
    return body.revocation?.state === "waiting" && /no audit scan/.test(body.revocation.reason) ? body.revocation : undefined;
  }, 10_000, "revocation waiting for a scan");
  expect(waiting.reason).toMatch(/no audit scan of codespaces-\d since it got the current version/);
  expect(await world.opens(old)).toBe(200);

  // A scan counts once it starts past the clock-skew allowance after the deliveries (1 s here).
  await new Promise((r) => setTimeout(r, 1_500));
  expect((await api(baseUrl, world.stateDir, "POST", "/v1/environments/scan")).status).toBe(202);
  await eventually(async () => ((await world.opens(old)) === 401 ? true : undefined), 15_000, "the old login revoked");
  expect(await world.opens(await world.login(v2))).toBe(200);
  const versions = (await api(baseUrl, world.stateDir, "GET", "/v1/registries/local/versions")).body as { items: { role: string; versionId: string; revoked: { reason: string } | null; deliveredTo: { consumers: number; of: number } }[] };
  expect(versions.items.find((v) => v.role === "current")).toMatchObject({ versionId: v2, deliveredTo: { consumers: CONSUMERS.length, of: CONSUMERS.length } });
  expect(versions.items.find((v) => v.role === "previous")).toMatchObject({ versionId: old.versionId, revoked: { reason: "unused" } });
  const history = (await api(baseUrl, world.stateDir, "GET", "/v1/registries/local/history?limit=100")).body.items as { type: string; versionId?: string }[];
  expect(history.filter((h) => h.type === "revoked")).toEqual([expect.objectContaining({ versionId: old.versionId })]);
  expect((await consumerRows(baseUrl, world.stateDir)).filter((r) => r.delivery?.state === "failed")).toEqual([]);
  expect(events.filter((e) => e.type === "Delivery Failed")).toEqual([]);
}

describe("safe rotation in the embedded runtime (issue 11, Done means)", () => {
  it("a 429 Retry-After: 90 on the first write: everyone delivered, none failed, the old login works until it is unused, then 401", { timeout: 300_000 }, async () => {
    const world = await safeRotationWorld();
    cleanups.push(() => world.close());
    const runtime = await EmbeddedRuntime.start({ configPath: world.configPath, stateDir: world.stateDir, port: 0, htpasswdCost: 4, log: () => undefined });
    cleanups.push(() => runtime.stop());
    const events: PullkeeperEvent[] = [];
    runtime.bus.subscribe({ source: ["pullkeeper"] }, async (e) => void events.push({ type: e["detail-type"], detail: e.detail } as PullkeeperEvent));
    const baseUrl = runtime.server?.url as string;

    const v1 = await eventually(async () => (await runtime.ledger.registryState("local"))?.current?.versionId, 30_000, "the first rotation");
    await allHold(baseUrl, world.stateDir, v1, 60_000);
    const old = await world.login(v1);

    throttleFirstWrite(world);
    const rotated = await api(baseUrl, world.stateDir, "POST", "/v1/registries/local/refresh?force=true");
    expect(rotated).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const v2 = rotated.body.versionId as string;
    expect(v2).not.toBe(v1);

    await throughThePause(world, baseUrl, old, v2, events);
    await revokedOnceUnused(world, baseUrl, old, v2, events);
    expect(events.filter((e) => e.type === "Credential Revoked")).toEqual([{ type: "Credential Revoked", detail: expect.objectContaining({ versionId: v1, currentVersionId: v2, reason: "unused" }) }]);
    expect(JSON.stringify(events)).not.toContain(old.password.reveal());
  });

  it("the same with the runtime SIGKILLed between the promotion and the revocation: one revocation, after a restart", { timeout: 300_000 }, async () => {
    const world = await safeRotationWorld();
    cleanups.push(() => world.close());
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "support", "runtime-child.ts"), world.stateDir, world.configPath, "finishSecret:2"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, sig) => resolve(sig)));
    cleanups.push(async () => {
      child.kill("SIGKILL");
      await exited;
    });
    const childUrl = await eventually(async () => /runtime started (http:\/\/\S+)/.exec(stderr)?.[1], 60_000, "the child runtime");
    const v1 = await eventually(async () => {
      const body = (await api(childUrl, world.stateDir, "GET", "/v1/registries/local")).body as { current: { versionId: string } | null };
      return body.current?.versionId;
    }, 30_000, "the first rotation");
    await allHold(childUrl, world.stateDir, v1, 60_000);
    const old = await world.login(v1);

    // The rotation's finishSecret promotes v2 and the process dies right after: nothing was revoked, maybe nothing delivered.
    await api(childUrl, world.stateDir, "POST", "/v1/registries/local/refresh?force=true").catch(() => undefined);
    expect(await exited, stderr).toBe("SIGKILL");
    expect(stderr).toContain("crashing after finishSecret");
    const v2 = (await world.login()).versionId;
    expect(v2).not.toBe(v1);

    throttleFirstWrite(world);
    const runtime = await EmbeddedRuntime.start({ configPath: world.configPath, stateDir: world.stateDir, port: 0, htpasswdCost: 4, log: () => undefined });
    cleanups.push(() => runtime.stop());
    const events: PullkeeperEvent[] = [];
    runtime.bus.subscribe({ source: ["pullkeeper"] }, async (e) => void events.push({ type: e["detail-type"], detail: e.detail } as PullkeeperEvent));
    const baseUrl = runtime.server?.url as string;
    // A restart is not a reason to rotate again: v2 stays current and reaches everyone, and
    // v1 (its registry restarted with the runtime) still opens it.
    expect((await world.login()).versionId).toBe(v2);
    expect(await world.opens(old)).toBe(200);

    await throughThePause(world, baseUrl, old, v2, events);
    await revokedOnceUnused(world, baseUrl, old, v2, events);
    expect((await world.login()).versionId).toBe(v2);
    expect(events.filter((e) => e.type === "Credential Revoked")).toHaveLength(1);
  });
});
