import { freePort } from "../../../packages/local/src/net.js";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export { freePort };

/** The CLI as installed: packages/local/bin/pullkeeper.js. */
export const PULLKEEPER_BIN = resolve(import.meta.dirname, "../../../packages/local/bin/pullkeeper.js");

export interface Workspace {
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly registryUrl: string;
}

/** A temp dir with a pullkeeper.yaml whose one registry the runtime serves on a free port. */
export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-e2e-"));
  const port = await freePort();
  const configPath = join(dir, "pullkeeper.yaml");
  await writeFile(
    configPath,
    `registries:
  - id: local
    host: 127.0.0.1:${port}
    kind: generic
    source:
      type: htpasswd
      file: registry/htpasswd
      rotation: rate(1 day)
      serve: { port: ${port} }
    secret: pullkeeper/local
    verify: { endpoint: "http://127.0.0.1:${port}" }
`,
  );
  return { dir, stateDir: join(dir, ".pullkeeper"), configPath, registryUrl: `http://127.0.0.1:${port}` };
}

export async function basicStatus(registryUrl: string, username: string, password: string): Promise<number> {
  const response = await fetch(`${registryUrl}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` } });
  await response.body?.cancel();
  return response.status;
}

/** Polls until `probe` returns a value, or fails after `ms`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, ms = 30_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `pullkeeper <args>` (the local bin) in a child process against a runtime on `port` (its
 * config and state directory appended), asynchronously: the runtime answering it may live in this process.
 */
export function runCli(args: readonly string[], to: { readonly configPath: string; readonly stateDir: string; readonly port: number }, timeoutMs: number): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [PULLKEEPER_BIN, ...args, "--config", to.configPath, "--state-dir", to.stateDir], { env: { ...process.env, PULLKEEPER_PORT: String(to.port) }, timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}
