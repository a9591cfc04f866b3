import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { basicStatus, eventually, freePort, workspace } from "./support/harness.js";

/**
 * On-call's lifecycle commands as a user runs them against a running runtime: `versions` shows the
 * previous credential kept while a consumer lacks the new one (and why), `status` says so,
 * `rollback` brings the previous credential back, and a rotation that would overwrite a credential
 * still in use is refused with the reason — exit codes and --json included.
 */

const BIN = resolve(import.meta.dirname, "../../packages/local/bin/pullkeeper.js");
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, PULLKEEPER_CLI_SOURCES: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("exit", (code) => done({ code, stdout, stderr }));
  });
}

/**
 * Runs the CLI with stderr on a terminal (util-linux `script` makes one): what a person at a terminal
 * sees, stdout apart. Asynchronous: the runtime answering it lives in this process.
 */
function onTerminal(args: string[], env: Record<string, string>, stdoutFile: string): Promise<{ code: number | null; terminal: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  return new Promise((done) => {
    const child = spawn("script", ["-qec", `${[process.execPath, BIN, ...args].map(quote).join(" ")} >${quote(stdoutFile)}`, "/dev/null"], { env: { ...process.env, PULLKEEPER_CLI_SOURCES: "1", ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let terminal = "";
    child.stdout.on("data", (c: Buffer) => (terminal += c.toString()));
    child.once("exit", (code) => done({ code, terminal }));
  });
}

describe("pullkeeper versions, status, rollback", () => {
  it("keeps the previous credential while a consumer lacks the new one, rolls back to it, and refuses to overwrite it", { timeout: 120_000 }, async () => {
    const ws = await workspace();
    // A consumer whose deliveries cannot succeed (its "directory" is a file): the previous credential must stay.
    await writeFile(join(ws.dir, "not-a-directory"), "");
    await writeFile(ws.configPath, `${await readFile(ws.configPath, "utf8")}consumers:\n  - id: docker-login\n    registry: local\n    target: { kind: docker-config, path: ${join(ws.dir, "not-a-directory", "config.json")} }\n`);
    const port = await freePort();
    const runtime = await EmbeddedRuntime.start({ configPath: ws.configPath, stateDir: ws.stateDir, port, htpasswdCost: 4, log: () => undefined, delivery: { baseBackoffMs: 50 } });
    cleanups.push(async () => {
      await runtime.stop();
      await rm(ws.dir, { recursive: true, force: true });
    });
    const env = { PULLKEEPER_PORT: String(port), PULLKEEPER_CONFIG: ws.configPath, PULLKEEPER_STATE_DIR: ws.stateDir };
    const login = async () => (await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" })).credential;
    const v1 = await eventually(async () => (await runtime.ledger.registryState("local"))?.current?.versionId, 30_000, "the first rotation");
    const one = await login();

    const refresh = await cli(["refresh", "--registry", "local", "--force"], env);
    expect(refresh.code, refresh.stderr).toBe(0);
    const two = await login();
    expect(two.username).not.toBe(one.username);

    const versions = await eventually(async () => {
      const run = await cli(["versions", "local", "--json"], env);
      const body = JSON.parse(run.stdout) as { items: { role: string; versionId: string; revoked: unknown; deliveredTo: { consumers: number; of: number } }[]; revocation: { state: string; reason: string } | null };
      return body.revocation?.state === "waiting" ? body : undefined;
    }, 20_000, "the revocation waiting");
    expect(versions.items.find((v) => v.role === "previous")).toMatchObject({ versionId: v1, revoked: null });
    expect(versions.items.find((v) => v.role === "current")).toMatchObject({ deliveredTo: { consumers: 0, of: 1 } });
    expect(versions.revocation?.reason).toMatch(/0 of 1 consumers hold the current version; waiting for docker-login/);
    expect(await basicStatus(ws.registryUrl, one.username, one.password.reveal())).toBe(200);
    const status = await cli(["status"], env);
    // The status table fits 100 columns: the previous version's cell wraps, so it is read down its column.
    const previousColumn = status.stdout.split("\n").filter((l) => l.startsWith("│")).map((l) => l.split("│")[6]?.trim()).join(" ");
    expect(previousColumn).toContain(`${v1.slice(0, 8)} kept: 0 of 1 consumers`);
    for (const line of status.stdout.trimEnd().split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);
    const table = await cli(["versions", "local"], env);
    expect(table.stdout).toMatch(/role .* version .* verified .* promoted .* delivered .* held by .* revoked/);
    expect(table.stdout).toMatch(/previous .* no/);
    // The table fits 100 columns (the sentence under it wraps where the terminal wraps it).
    for (const line of table.stdout.split("\n").filter((l) => /^[┌│├└]/.test(l))) expect(line.length, line).toBeLessThanOrEqual(100);

    const rollback = await cli(["rollback", "--registry", "local"], env);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toMatch(new RegExp(`rolled back from .*; the credential of ${v1} is current again`));
    const back = await login();
    expect(back.username).toBe(one.username);
    expect(await basicStatus(ws.registryUrl, back.username, back.password.reveal())).toBe(200);
    // The credential rolled back from is kept too: the consumer never got it either way.
    expect(await basicStatus(ws.registryUrl, two.username, two.password.reveal())).toBe(200);

    // The next rotation would need the user rolled back from, still unrevoked: refused, with the reason.
    const again = await cli(["refresh", "--registry", "local", "--force", "--json"], env);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toEqual([expect.objectContaining({ status: 409, body: expect.objectContaining({ code: "previous_in_use" }) })]);
    expect((await login()).password.reveal()).toBe(back.password.reveal());

    const unknown = await cli(["rollback", "--registry", "nope", "--json"], env);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ status: 404, code: "not_found" });
    expect(unknown.stdout + unknown.stderr + rollback.stdout + status.stdout).not.toContain(one.password.reveal());

    // `consumers`: the consumer that cannot be written to, failed for good, with its cause and when reconcile tries again.
    const consumers = await cli(["consumers"], env);
    expect(consumers.code, consumers.stderr).toBe(0);
    expect(consumers.stdout).toMatch(/docker-login +│ failed for good/);
    // Cells wrap within their column: read each column's text down the table.
    const column = (i: number) => consumers.stdout.split("\n").filter((l) => l.startsWith("│")).map((l) => l.split("│")[i + 1]?.trim()).join(" ");
    expect(column(1)).toMatch(/failed for good of [0-9a-f]{8}/);
    expect(column(3)).toMatch(/fix the cause; reconcile retries \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in \d+m \d+s\)/);
    expect(column(4)).toMatch(/invalid_target: docker config/);
    for (const line of consumers.stdout.trimEnd().split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);

    // propagate on a terminal: the bar fills with the consumers the wait is over for (here the one that failed for
    // good), the same count the summary gives, so a finished run never leaves the bar short.
    if (existsSync("/usr/bin/script")) {
      const stdoutFile = join(ws.dir, "propagate.out");
      const propagate = await onTerminal(["propagate", "--registry", "local", "--timeout", "60"], env, stdoutFile);
      expect(propagate.code).toBe(1);
      const frames = propagate.terminal.split("\u001b[1G").map((f) => stripVTControlCharacters(f).trim()).filter((f) => / done \| /.test(f));
      expect(frames.at(-1), propagate.terminal).toMatch(/ 1\/1 done \| 0\/1 consumers hold [0-9a-f]{8}, 1 failed for good$/);
      expect(await readFile(stdoutFile, "utf8")).toMatch(/^local: 0\/1 consumers hold [0-9a-f-]{36}, 1 failed for good; failed for good: docker-login \(invalid_target: /);
    }
  });
});
