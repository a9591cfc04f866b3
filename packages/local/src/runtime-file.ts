import { replaceFile } from "@pullkeeper/files";
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { provesToken } from "./http/health-proof.js";
import { requestJson } from "./local-http.js";

/**
 * `<stateDir>/runtime.json`: where a running `pullkeeper dev` listens, so the CLI finds it whatever
 * PULLKEEPER_PORT the shell running the CLI has. Kept out of runtime.ts on purpose: the CLI reads it
 * on every command and must not load the runtime (dynalite, the AWS SDK) to do so.
 */

export const DEFAULT_PORT = 8790;
export const RUNTIME_FILE = "runtime.json";

export interface RuntimeRecord {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly startedAt: string;
}

export interface RunningRuntime {
  /** Always http://127.0.0.1:<port>: the bearer token is never sent anywhere the file could point to. */
  readonly url: string;
  readonly adminToken: string;
  /** How it was found, for messages. */
  readonly via: "runtime.json" | "port";
}

/**
 * Writes the record atomically (temp file with mode 0600, fsync, rename: a CLI reading it sees the
 * old record or the new one) and returns the function that removes it — only if it is still this
 * process's record, so a stop never deletes a successor's.
 */
export async function writeRuntimeFile(stateDir: string, server: { readonly url: string; readonly port: number }): Promise<() => Promise<void>> {
  const path = join(stateDir, RUNTIME_FILE);
  const record: RuntimeRecord = { url: server.url, port: server.port, pid: process.pid, startedAt: new Date().toISOString() };
  await replaceFile(path, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return async () => {
    if ((await readRuntimeFile(stateDir))?.pid === process.pid) await rm(path, { force: true });
  };
}

/** The record, or undefined when there is none or it is not one (a damaged file is as good as none). */
export async function readRuntimeFile(stateDir: string): Promise<RuntimeRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, RUNTIME_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const r = JSON.parse(text) as Partial<RuntimeRecord> | null;
    const valid = typeof r === "object" && r !== null && Number.isInteger(r.port) && (r.port as number) > 0 && (r.port as number) < 65536 && Number.isInteger(r.pid) && (r.pid as number) > 0;
    return valid ? (r as RuntimeRecord) : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * True when the server on `port` proves it holds this state directory's admin token (a fresh
 * challenge, answered with its HMAC under the token): only then is the token sent to it. Whatever
 * else answers on the port — another runtime, another program — gets nothing.
 */
async function holdsToken(port: number, adminToken: string): Promise<boolean> {
  const challenge = randomBytes(32).toString("hex");
  const health = await requestJson("GET", `http://127.0.0.1:${port}/healthz?challenge=${challenge}`, { timeoutMs: 1_000 }).catch(() => undefined);
  return health?.status === 200 && provesToken((health.body as { proof?: unknown } | undefined)?.proof, adminToken, challenge);
}

/**
 * The runtime running for `stateDir`: the one runtime.json names (if its process is alive and it
 * proves it holds this directory's admin token), else one on `fallbackPort` that proves it. A stale file is
 * ignored, not deleted: its runtime may only be slow to answer.
 */
export async function findRunningRuntime(stateDirOption: string, fallbackPort: number = DEFAULT_PORT): Promise<RunningRuntime | undefined> {
  const stateDir = resolve(stateDirOption);
  const record = await readRuntimeFile(stateDir);
  const candidates: { port: number; via: RunningRuntime["via"] }[] = [];
  if (record !== undefined && isAlive(record.pid)) candidates.push({ port: record.port, via: "runtime.json" });
  if (record?.port !== fallbackPort || candidates.length === 0) candidates.push({ port: fallbackPort, via: "port" });
  const adminToken = (await readFile(join(stateDir, "admin-token"), "utf8").catch(() => "")).trim();
  if (adminToken === "") return undefined;
  for (const candidate of candidates) {
    if (await holdsToken(candidate.port, adminToken)) return { url: `http://127.0.0.1:${candidate.port}`, adminToken, via: candidate.via };
  }
  return undefined;
}

/**
 * A live process holding the state directory's stores (the embedded DynamoDB's lock file), or named
 * by runtime.json: a writer that must not be bypassed even when it does not answer over HTTP.
 */
export async function stateHolder(stateDirOption: string): Promise<number | undefined> {
  const stateDir = resolve(stateDirOption);
  const lockPid = Number.parseInt(await readFile(join(stateDir, "dynamo.lock"), "utf8").catch(() => ""), 10);
  for (const pid of [lockPid, (await readRuntimeFile(stateDir))?.pid]) {
    if (pid !== undefined && Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) return pid;
  }
  return undefined;
}
