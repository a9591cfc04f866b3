import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { healthProof } from "./http/health-proof.js";
import { findRunningRuntime, readRuntimeFile, RUNTIME_FILE, stateHolder, writeRuntimeFile } from "./runtime-file.js";

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-runtime-file-"));
  dirs.push(dir);
  await writeFile(join(dir, "admin-token"), "the-token\n", { mode: 0o600 });
  return dir;
}

/** Every request a test server received: method, path and whether it carried an Authorization header. */
const seen: { url: string; authorization: boolean }[] = [];

/**
 * A /healthz that proves `token` like the runtime's; without one, an impostor that echoes the
 * challenge and names `stateDir` (the old /healthz disclosed it to anyone who asked).
 */
async function healthz(token: string | undefined, stateDir = "/anything"): Promise<number> {
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization !== undefined });
    const challenge = new URL(req.url ?? "/", "http://x").searchParams.get("challenge") ?? "";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", ...(token !== undefined ? { proof: healthProof(token, challenge) } : { proof: challenge, stateDir }) }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

/** A pid that was alive and is not any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("runtime.json", () => {
  it("is written atomically with mode 0600, read back, and removed only by the process that wrote it", async () => {
    const dir = await stateDir();
    const remove = await writeRuntimeFile(dir, { url: "http://127.0.0.1:4321", port: 4321 });
    expect((await stat(join(dir, RUNTIME_FILE))).mode & 0o777).toBe(0o600);
    expect(await readRuntimeFile(dir)).toMatchObject({ url: "http://127.0.0.1:4321", port: 4321, pid: process.pid });
    // Another runtime took the directory over since: its record stays.
    const successor = JSON.stringify({ url: "http://127.0.0.1:5555", port: 5555, pid: process.pid + 1, startedAt: new Date().toISOString() });
    await writeFile(join(dir, RUNTIME_FILE), successor);
    await remove();
    expect(await readFile(join(dir, RUNTIME_FILE), "utf8")).toBe(successor);
  });

  it("finds the runtime the file names, on a port the caller does not know", async () => {
    const dir = await stateDir();
    const port = await healthz("the-token");
    await writeRuntimeFile(dir, { url: `http://127.0.0.1:${port}`, port });
    expect(await findRunningRuntime(dir, 1)).toEqual({ url: `http://127.0.0.1:${port}`, adminToken: "the-token", via: "runtime.json" });
  });

  it("ignores a file whose process is dead, and falls back to the port", async () => {
    const dir = await stateDir();
    const port = await healthz("the-token");
    await writeFile(join(dir, RUNTIME_FILE), JSON.stringify({ url: "http://127.0.0.1:1", port: 1, pid: deadPid(), startedAt: "2026-01-01T00:00:00Z" }));
    expect(await findRunningRuntime(dir, port)).toMatchObject({ url: `http://127.0.0.1:${port}`, via: "port" });
  });

  // Issue 15, defect 4: the token went to whatever answered /healthz with the right state directory.
  it("sends the token to no server that cannot prove it holds it: another runtime's, or an impostor echoing the challenge", async () => {
    const dir = await stateDir();
    seen.length = 0;
    for (const port of [await healthz("another-runtime's-token"), await healthz(undefined, dir)]) {
      await writeFile(join(dir, RUNTIME_FILE), JSON.stringify({ url: `http://127.0.0.1:${port}`, port, pid: process.pid, startedAt: "2026-01-01T00:00:00Z" }));
      expect(await findRunningRuntime(dir, port)).toBeUndefined();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((r) => r.authorization)).toEqual([]);
    // Each ask is a fresh challenge: an answer seen once is worth nothing the next time.
    const challenges = seen.map((r) => new URL(r.url, "http://x").searchParams.get("challenge"));
    expect(new Set(challenges).size).toBe(challenges.length);
  });

  it("ignores a live process whose port answers for another state directory, and a damaged file", async () => {
    const dir = await stateDir();
    const other = await healthz("another-state-directory's-token");
    await writeFile(join(dir, RUNTIME_FILE), JSON.stringify({ url: `http://127.0.0.1:${other}`, port: other, pid: process.pid, startedAt: "2026-01-01T00:00:00Z" }));
    expect(await findRunningRuntime(dir, other)).toBeUndefined();
    await writeFile(join(dir, RUNTIME_FILE), "{not json");
    expect(await readRuntimeFile(dir)).toBeUndefined();
    expect(await findRunningRuntime(dir, other)).toBeUndefined();
  });

  it("stateHolder: the live process of the store's lock or of runtime.json, never a dead one", async () => {
    const dir = await stateDir();
    expect(await stateHolder(dir)).toBeUndefined();
    await writeFile(join(dir, "dynamo.lock"), `${deadPid()}\n`);
    expect(await stateHolder(dir)).toBeUndefined();
    // The parent of this test process is alive and is not this process.
    await writeFile(join(dir, "dynamo.lock"), `${process.ppid}\n`);
    expect(await stateHolder(dir)).toBe(process.ppid);
  });
});
