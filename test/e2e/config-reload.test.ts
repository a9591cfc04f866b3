import { appendFile, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { eventually, type Workspace, workspace } from "./support/harness.js";

/**
 * `dev` reloads pullkeeper.yaml when it changes: a consumer added to the file gets the current
 * credential within seconds, without a rotation or a reconcile; a broken edit changes nothing and
 * says why; registry changes wait for a restart while the rest of the file applies.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const dockerConsumer = (id: string, path: string) => `  - id: ${id}\n    registry: local\n    target: { kind: docker-config, path: ${path} }\n`;

/** `watch`: off where a test reloads by hand, as SIGHUP does, so the watcher's reload cannot come first. */
async function setup(watch = true): Promise<{ ws: Workspace; runtime: EmbeddedRuntime; lines: string[]; dockerConfig: (name: string) => string }> {
  const ws = await workspace();
  const dockerConfig = (name: string) => join(ws.dir, name, "config.json");
  await appendFile(ws.configPath, `consumers:\n${dockerConsumer("first", dockerConfig("first"))}`);
  const lines: string[] = [];
  const runtime = await EmbeddedRuntime.start({ configPath: ws.configPath, stateDir: ws.stateDir, port: 0, htpasswdCost: 4, log: (line) => void lines.push(line), watchConfig: watch });
  cleanups.push(async () => {
    await runtime.stop();
    await rm(ws.dir, { recursive: true, force: true });
  });
  return { ws, runtime, lines, dockerConfig };
}

/** The password the docker config.json at `path` holds for the registry, once it holds one. */
async function heldPassword(path: string): Promise<string | undefined> {
  const auths = (JSON.parse(await readFile(path, "utf8")) as { auths: Record<string, { auth: string }> }).auths;
  const auth = Object.values(auths)[0]?.auth;
  return auth === undefined ? undefined : Buffer.from(auth, "base64").toString("utf8").split(":").slice(1).join(":");
}

const rotations = async (runtime: EmbeddedRuntime) => (await runtime.ledger.history("local", { limit: 100 })).items.filter((e) => e.type === "rotated").length;

describe("config reload in the embedded runtime", () => {
  it("a consumer appended to the file gets the current credential within seconds, with no rotation or reconcile; a changed target is delivered to its new place", async () => {
    const { ws, runtime, lines, dockerConfig } = await setup();
    const current = async () => (await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" })).credential.password.reveal();
    const password = await eventually(async () => {
      const held = await heldPassword(dockerConfig("first"));
      return held !== undefined && held === (await current()) ? held : undefined;
    }, 30_000, "the first consumer's docker config");
    expect(await rotations(runtime)).toBe(1);

    const appendedAt = Date.now();
    await appendFile(ws.configPath, dockerConsumer("second", dockerConfig("second")));
    expect(await eventually(() => heldPassword(dockerConfig("second")), 5_000, "the appended consumer's docker config")).toBe(password);
    expect(Date.now() - appendedAt).toBeLessThan(5_000);
    expect(runtime.config.consumers.map((c) => c.id)).toEqual(["first", "second"]);
    expect(lines).toContainEqual(expect.stringMatching(/^config: reloaded: consumers added second$/));

    // An editor's save: a new file renamed over the old one. The first consumer now lives elsewhere.
    const text = (await readFile(ws.configPath, "utf8")).replace(dockerConfig("first"), dockerConfig("moved"));
    await writeFile(`${ws.configPath}.swp`, text);
    await rename(`${ws.configPath}.swp`, ws.configPath);
    expect(await eventually(() => heldPassword(dockerConfig("moved")), 5_000, "the moved consumer's docker config")).toBe(password);
    expect(lines).toContainEqual("config: reloaded: consumers changed first");

    // Neither reload rotated: the credential and the ledger's history are as they were.
    expect(await current()).toBe(password);
    expect(await rotations(runtime)).toBe(1);
  });

  it("a broken edit changes nothing: the issue is logged, the runtime serves the previous config, and a fixed file applies", async () => {
    const { ws, runtime, lines, dockerConfig } = await setup(false);
    await eventually(() => heldPassword(dockerConfig("first")), 30_000, "the first consumer's docker config");
    const good = await readFile(ws.configPath, "utf8");

    await writeFile(ws.configPath, `${good}  - id: second\n    registry: local\n    target: { kind: docker-config, paht: ${dockerConfig("second")} }\n`);
    const outcome = await runtime.reload();
    expect(outcome).toMatchObject({ applied: false, reason: expect.stringMatching(/consumers\[1\]\.target/) });
    expect(lines.find((l) => l.startsWith("config: not reloaded, still running the previous one:"))).toMatch(/consumers\[1\]\.target/);
    expect(runtime.config.consumers.map((c) => c.id)).toEqual(["first"]);
    // Still serving, from the previous config.
    const token = (await readFile(runtime.adminTokenPath, "utf8")).trim();
    const consumers = await fetch(`${runtime.server?.url}/v1/consumers?registry=local`, { headers: { authorization: `Bearer ${token}` } });
    expect(consumers.status).toBe(200);
    expect(((await consumers.json()) as { items: { id: string }[] }).items.map((c) => c.id)).toEqual(["first"]);

    await writeFile(ws.configPath, `${good}${dockerConsumer("second", dockerConfig("second"))}`);
    expect(await runtime.reload()).toMatchObject({ applied: true, added: ["second"] });
    await eventually(() => heldPassword(dockerConfig("second")), 5_000, "the second consumer's docker config");
  });

  it("a removed consumer is gone for requests and deliveries that start after the switch; new settings rearm the schedules", async () => {
    const { ws, runtime, lines, dockerConfig } = await setup(false);
    await eventually(() => heldPassword(dockerConfig("first")), 30_000, "the first consumer's docker config");
    const before = runtime.propagation;
    const request = { consumerId: "first", registryId: "local", secretArn: (await runtime.vault.describe("pullkeeper/local")).arn, versionId: "v", versionCreatedAt: new Date() };
    const health = async () => (await (await fetch(`${runtime.server?.url}/healthz`)).json()) as { schedules: Record<string, string | null> };
    const reconcileAt = (await health()).schedules.reconcile;

    const text = (await readFile(ws.configPath, "utf8")).replace(/consumers:\n[\s\S]*$/, `consumers:\n${dockerConsumer("second", dockerConfig("second"))}settings:\n  reconcileSchedule: cron(7/15 * * * ? *)\n`);
    await writeFile(ws.configPath, text);
    expect(await runtime.reload()).toMatchObject({ applied: true, added: ["second"], removed: ["first"], changed: [] });
    expect(lines).toContainEqual("config: reloaded: consumers added second; removed first");
    // A delivery of the removed consumer that starts now is skipped; the previous generation still knew it.
    expect(await runtime.propagation.deliver(request)).toEqual({ outcome: "skipped", reason: "unknown-consumer" });
    expect(runtime.propagation).not.toBe(before);
    // Rearmed: the next reconcile is on the new schedule, 7 minutes past a quarter hour, where the
    // default's (rate(15 minutes), on the quarter hours) never is. (With rate(1 minute) the two
    // next ticks were the same instant whenever the test ran in the minute before a quarter hour.)
    const next = new Date((await health()).schedules.reconcile ?? 0);
    expect(new Date(reconcileAt ?? 0).getUTCMinutes() % 15).toBe(0);
    expect(next.getUTCMinutes() % 15).toBe(7);
    expect(next.getUTCSeconds()).toBe(0);
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    await eventually(() => heldPassword(dockerConfig("second")), 5_000, "the second consumer's docker config");
  });

  it("registry changes wait for a restart, said once; the consumers and settings in the same edit apply", async () => {
    const { ws, runtime, lines, dockerConfig } = await setup(false);
    await eventually(() => heldPassword(dockerConfig("first")), 30_000, "the first consumer's docker config");
    const good = await readFile(ws.configPath, "utf8");
    const extraRegistry = `  - id: other\n    host: 127.0.0.1:1\n    kind: generic\n    source: { type: htpasswd, file: other/htpasswd }\n    secret: pullkeeper/other\n`;
    const edited = good
      .replace("consumers:\n", `${extraRegistry}consumers:\n`)
      .concat(dockerConsumer("second", dockerConfig("second")), `  - id: third\n    registry: other\n    target: { kind: docker-config, path: ${dockerConfig("third")} }\n`);
    await writeFile(ws.configPath, edited);
    const outcome = await runtime.reload();
    expect(outcome).toMatchObject({ applied: true, added: ["second"], registriesKept: true });
    expect(lines).toContainEqual(expect.stringMatching(/^config: registry changes need a restart of dev \(other added\); the running registries stay as they are, and their new consumers wait for the restart: third$/));
    expect(runtime.config.registries.map((r) => r.id)).toEqual(["local"]);
    expect(runtime.config.consumers.map((c) => c.id)).toEqual(["first", "second"]);
    await eventually(() => heldPassword(dockerConfig("second")), 5_000, "the second consumer's docker config");
  });
});
