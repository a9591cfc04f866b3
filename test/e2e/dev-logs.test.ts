import { type ChildProcess, spawn } from "node:child_process";
import { appendFile, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, freePort, type Workspace, workspace } from "./support/harness.js";

/**
 * `pullkeeper dev` as a user runs it, for what it prints: one readable line per event or one JSON
 * object per line, metrics only with --metrics, no credential either way; and SIGHUP reloading
 * the config (with --no-watch, so the reload can only come from the signal).
 */

const BIN = resolve(import.meta.dirname, "../../packages/local/bin/pullkeeper.js");
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const dockerConsumer = (id: string, path: string) => `  - id: ${id}\n    registry: local\n    target: { kind: docker-config, path: ${path} }\n`;

interface Dev {
  readonly ws: Workspace;
  readonly child: ChildProcess;
  readonly output: { stdout: string; stderr: string };
  readonly exited: Promise<number | null>;
  readonly dockerConfig: (name: string) => string;
}

/** `pullkeeper dev <args>` on a workspace with one docker-config consumer, stdout and stderr piped (not a terminal). */
async function dev(args: string[]): Promise<Dev> {
  const ws = await workspace();
  dirs.push(ws.dir);
  const dockerConfig = (name: string) => join(ws.dir, name, "config.json");
  await appendFile(ws.configPath, `consumers:\n${dockerConsumer("first", dockerConfig("first"))}`);
  const env = { ...process.env, PULLKEEPER_CLI_SOURCES: "1", PULLKEEPER_PORT: String(await freePort()), PULLKEEPER_CONFIG: ws.configPath, PULLKEEPER_STATE_DIR: ws.stateDir };
  const child = spawn(process.execPath, [BIN, "dev", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (c: Buffer) => (output.stdout += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output.stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { ws, child, output, exited, dockerConfig };
}

/** The password in the docker config.json at `path`, once there is one. */
async function heldPassword(path: string): Promise<string | undefined> {
  const auths = (JSON.parse(await readFile(path, "utf8")) as { auths: Record<string, { auth: string }> }).auths;
  const auth = Object.values(auths)[0]?.auth;
  return auth === undefined ? undefined : Buffer.from(auth, "base64").toString("utf8").split(":").slice(1).join(":");
}

/** Waits for the rotation's delivery, then stops dev gracefully (the delivery in flight finishes and logs first). */
async function deliveredThenStopped(d: Dev): Promise<string> {
  const password = await eventually(() => heldPassword(d.dockerConfig("first")), 60_000, "the first delivery");
  d.child.kill("SIGTERM");
  expect(await d.exited, d.output.stderr).toBe(0);
  return password;
}

const lines = (text: string) => text.split("\n").filter((l) => l !== "");

describe("pullkeeper dev's output", () => {
  it("--log-format pretty: one readable line per event on stderr, no JSON, no metrics, no credential", async () => {
    const d = await dev(["--log-format", "pretty"]);
    const password = await deliveredThenStopped(d);
    const stderr = lines(d.output.stderr);
    expect(stderr.filter((l) => l.startsWith("{")), d.output.stderr).toEqual([]);
    expect(stderr).toContainEqual(expect.stringMatching(/^\d\d:\d\d:\d\d rotate {4}rotation step done registry=local step=finishSecret version=[0-9a-f]{8}…$/));
    expect(stderr).toContainEqual(expect.stringMatching(/^\d\d:\d\d:\d\d deliver {3}delivery consumer=first registry=local version=[0-9a-f]{8}… .*outcome=delivered/));
    expect(d.output.stdout).not.toContain('"_aws"');
    expect(d.output.stderr).not.toContain("NodeVersionSupportWarning");
    expect(d.output.stdout + d.output.stderr).not.toContain(password);
  });

  it("not on a terminal, by default: every stderr line is one JSON object, and metrics only come with --metrics", async () => {
    const d = await dev(["--metrics"]);
    const password = await deliveredThenStopped(d);
    const parsed = lines(d.output.stderr).map((l) => JSON.parse(l) as { message?: string; service?: string });
    expect(parsed).toContainEqual(expect.objectContaining({ message: "delivery", service: "pullkeeper-deliver", consumerId: "first", outcome: "delivered" }));
    expect(parsed).toContainEqual(expect.objectContaining({ service: "pullkeeper-dev", message: expect.stringMatching(/^registry local: rotated to version /) }));
    // The metrics: CloudWatch EMF objects on stdout, as on Lambda.
    expect(lines(d.output.stdout).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { _aws?: unknown })).toContainEqual(expect.objectContaining({ _aws: expect.anything(), Deliveries: 1 }));
    expect(d.output.stdout + d.output.stderr).not.toContain(password);
  });

  it("--log-format json without --metrics: JSON lines, no metrics; SIGHUP reloads the config (--no-watch) and delivers to the new consumer", async () => {
    const d = await dev(["--log-format", "json", "--no-watch"]);
    const password = await eventually(() => heldPassword(d.dockerConfig("first")), 60_000, "the first delivery");
    await appendFile(d.ws.configPath, dockerConsumer("second", d.dockerConfig("second")));
    // Not watched: nothing happens until the signal.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await heldPassword(d.dockerConfig("second")).catch(() => undefined)).toBeUndefined();
    d.child.kill("SIGHUP");
    expect(await eventually(() => heldPassword(d.dockerConfig("second")), 5_000, "the second consumer's docker config after SIGHUP")).toBe(password);
    d.child.kill("SIGTERM");
    expect(await d.exited, d.output.stderr).toBe(0);
    const parsed = lines(d.output.stderr).map((l) => JSON.parse(l) as { message?: string });
    expect(parsed.map((p) => p.message)).toEqual(expect.arrayContaining(["SIGHUP: reloading the config", "config: reloaded: consumers added second"]));
    expect(d.output.stdout).not.toContain('"_aws"');
  });
});
