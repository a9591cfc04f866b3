import { type ChildProcess, spawn } from "node:child_process";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { healthProof } from "../../packages/local/src/http/health-proof.js";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { basicStatus, eventually, type Workspace, workspace } from "./support/harness.js";

/**
 * The embedded runtime end to end, with a real docker-registry: rotation proven by plain HTTP
 * Basic auth against the registry, state surviving a restart, and a real SIGKILL between
 * rotation steps that the next start finishes without a second new version.
 */

const runtimes: EmbeddedRuntime[] = [];
const dirs: string[] = [];
/** Child runtimes: killed after each test whatever happened, so a failed test leaves none running. */
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function start(ws: Workspace): Promise<EmbeddedRuntime> {
  const runtime = await EmbeddedRuntime.start({ configPath: ws.configPath, stateDir: ws.stateDir, port: 0, htpasswdCost: 4, log: () => undefined });
  runtimes.push(runtime);
  return runtime;
}

async function api(runtime: EmbeddedRuntime, method: string, path: string) {
  const token = (await readFile(runtime.adminTokenPath, "utf8")).trim();
  const response = await fetch(`${runtime.server?.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

type RegistryItem = { id: string; current: { versionId: string } | null };
const currentVersion = async (runtime: EmbeddedRuntime) => {
  const { body } = await api(runtime, "GET", "/v1/registries");
  return (body.items as RegistryItem[])[0]?.current?.versionId ?? undefined;
};

describe("embedded runtime with a real docker-registry", () => {
  it("rotates at start and on demand: the new login gets 200, the previous one 401 once revoked (nothing consumes it); state survives a restart", async () => {
    const ws = await workspace();
    dirs.push(ws.dir);
    let runtime = await start(ws);
    const first = await eventually(() => currentVersion(runtime), 30_000, "the first rotation");
    const one = (await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" })).credential;
    expect(await basicStatus(ws.registryUrl, one.username, one.password.reveal())).toBe(200);

    const rotated = await api(runtime, "POST", "/v1/registries/local/refresh");
    expect(rotated).toMatchObject({ status: 200, body: { outcome: "rotated", resumed: false } });
    const two = (await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" })).credential;
    expect(two.username).not.toBe(one.username);
    expect(await basicStatus(ws.registryUrl, two.username, two.password.reveal())).toBe(200);
    // Revoked by the check after the rotation, not at finishSecret: no consumer, nothing running.
    await eventually(async () => ((await basicStatus(ws.registryUrl, one.username, one.password.reveal())) === 401 ? true : undefined), 10_000, "the previous login revoked");
    const second = await currentVersion(runtime);
    expect(second).not.toBe(first);

    const history = await api(runtime, "GET", "/v1/registries/local/history");
    expect((history.body.items as { type: string }[]).filter((e) => e.type === "rotated")).toHaveLength(2);

    await runtime.stop();
    runtimes.length = 0;
    runtime = await start(ws);
    // A restart is not a reason to rotate: the same version, still working, with its history.
    expect(await currentVersion(runtime)).toBe(second);
    expect((await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" })).versionId).toBe(second);
    expect(await basicStatus(ws.registryUrl, two.username, two.password.reveal())).toBe(200);
    expect(((await api(runtime, "GET", "/v1/registries/local/history")).body.items as { type: string }[]).map((e) => e.type)).toEqual(["revoked", "rotated", "rotated"]);
  });

  it("answers /healthz openly and /v1 only with the bearer token, which is stored 0600", async () => {
    const ws = await workspace();
    dirs.push(ws.dir);
    const runtime = await start(ws);
    const health = await fetch(`${runtime.server?.url}/healthz?challenge=${"ab".repeat(16)}`);
    expect(health.status).toBe(200);
    // It proves it holds the token (issue 15, defect 4) and tells nobody where its state is.
    const text = await health.text();
    expect(JSON.parse(text)).toMatchObject({ status: "ok", proof: healthProof(await readFile(runtime.adminTokenPath, "utf8").then((t) => t.trim()), "ab".repeat(16)) });
    expect(text).not.toContain(ws.dir);
    const denied = await fetch(`${runtime.server?.url}/v1/registries`, { headers: { authorization: "Bearer wrong" } });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ code: "unauthorized" });
    expect((await stat(runtime.adminTokenPath)).mode & 0o777).toBe(0o600);
  });

  // Issue 11, defect 10: a SIGKILL inside finishSecret, after the vault promoted and before the
  // ledger write, left the API showing a retired user as current and verified, across restarts,
  // with no Credential Rotated event. Now the vault's current is what the API shows, and it works.
  it("after a SIGKILL between the promotion and the ledger write, a restart records and announces the vault's current version", async () => {
    const ws = await workspace();
    dirs.push(ws.dir);
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "support", "runtime-child.ts"), ws.stateDir, ws.configPath, "promote:2"], { stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, sig) => resolve(sig)));
    const url = await eventually(async () => /runtime started (http:\/\/\S+)/.exec(stderr)?.[1], 60_000, "the child runtime");
    const token = (await readFile(join(ws.stateDir, "admin-token"), "utf8")).trim();
    const call = (method: string, path: string) => fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    const first = await eventually(async () => ((await (await call("GET", "/v1/registries/local")).json()) as RegistryItem).current?.versionId ?? undefined, 30_000, "the first rotation");
    await call("POST", "/v1/registries/local/refresh?force=true").catch(() => undefined);
    expect(await exited, stderr).toBe("SIGKILL");
    expect(stderr).toContain("crashing after promote");

    const runtime = await start(ws);
    const vaultCurrent = await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" });
    expect(vaultCurrent.versionId).not.toBe(first);
    const shown = await eventually(async () => {
      const v = await currentVersion(runtime);
      return v === vaultCurrent.versionId ? v : undefined;
    }, 30_000, "the API showing the vault's current version");
    expect(shown).toBe(vaultCurrent.versionId);
    const registry = (await api(runtime, "GET", "/v1/registries/local")).body as { current: { verification: { status: string } } };
    expect(registry.current.verification.status).toBe("ok");
    expect(await basicStatus(ws.registryUrl, vaultCurrent.credential.username, vaultCurrent.credential.password.reveal())).toBe(200);
    const history = (await api(runtime, "GET", "/v1/registries/local/history")).body.items as { type: string; versionId?: string }[];
    expect(history.filter((e) => e.type === "rotated").map((e) => e.versionId)).toEqual([vaultCurrent.versionId, first]);
  });

  for (const crashAfter of ["createSecret", "setSecret", "testSecret"] as const) {
    it(`finishes a rotation whose process was SIGKILLed after ${crashAfter}, without a second new version`, async () => {
      const ws = await workspace();
      dirs.push(ws.dir);
      const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "support", "runtime-child.ts"), ws.stateDir, ws.configPath, crashAfter], { stdio: ["ignore", "ignore", "pipe"] });
      children.push(child);
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, sig) => resolve(sig)));
      expect(signal, stderr).toBe("SIGKILL");
      expect(stderr).toContain(`crashing after ${crashAfter}`);

      const runtime = await start(ws);
      const versionId = await eventually(() => currentVersion(runtime), 30_000, "the resumed rotation");
      const secret = await runtime.vault.describe("pullkeeper/local");
      expect(Object.keys(secret.versions)).toEqual([versionId]);
      expect(secret.versions[versionId]).toEqual(["AWSCURRENT"]);
      const login = (await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" })).credential;
      expect(await basicStatus(ws.registryUrl, login.username, login.password.reveal())).toBe(200);
    });
  }
});
