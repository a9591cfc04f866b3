import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../packages/local/src/net.js";
import { median } from "./median.js";

/**
 * How long `pullkeeper status --json` takes against a running runtime, as a user runs it (the bin,
 * the built CLI, a fresh node process), next to a bare `node -e ""` on the same machine at the same
 * time. The runtime is `pullkeeper dev` in a child process on a free port; the CLI is not told the
 * port and finds it through the state directory's runtime.json.
 */

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "packages/local/bin/pullkeeper.js");

interface Run {
  readonly ms: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Async, so nothing in this process delays the child's start or its exit being seen. */
function timed(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", fail);
    child.once("close", (code) => done({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, stdout, stderr }));
  });
}

export async function cliStatus(runs: number): Promise<{ bareMs: number; statusMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "pullkeeper-bench-cli-"));
  const config = join(dir, "pullkeeper.yaml");
  const stateDir = join(dir, "state");
  writeFileSync(config, "registries:\n  - { id: hub, host: registry-1.docker.io, kind: dockerhub, source: { type: managed-secret }, secret: bench/hub }\n");
  const port = await freePort();
  const dev = spawn(process.execPath, [BIN, "dev", "--config", config, "--state-dir", stateDir], { env: { ...process.env, PULLKEEPER_PORT: String(port) }, stdio: "ignore" });
  try {
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error("pullkeeper dev did not answer /healthz within 60 s");
      await new Promise((r) => setTimeout(r, 50));
    }
    const env = { PATH: process.env.PATH ?? "", PULLKEEPER_CONFIG: config, PULLKEEPER_STATE_DIR: stateDir };
    const status = async () => {
      const run = await timed([BIN, "status", "--json"], env);
      if (run.code !== 0) throw new Error(`pullkeeper status exited ${run.code}: ${run.stderr}`);
      // The tsx fallback would time the sources, not what `npm ci` installs.
      if (run.stderr !== "") throw new Error(`pullkeeper status wrote to stderr (a stale or missing build? run npm run build:cli): ${run.stderr}`);
      if (!run.stdout.includes('"id":"hub"')) throw new Error(`pullkeeper status did not answer from the runtime: ${run.stdout}`);
      return run.ms;
    };
    const bare = async () => (await timed(["-e", ""], { PATH: process.env.PATH ?? "" })).ms;
    // One warm-up each for the disk cache, then interleaved so both see the same machine load.
    await status();
    await bare();
    const statusMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      bareMs.push(await bare());
      statusMs.push(await status());
    }
    return { bareMs: median(bareMs), statusMs: median(statusMs) };
  } finally {
    dev.kill("SIGTERM");
    await new Promise((r) => dev.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}
