import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, freePort, workspace } from "./support/harness.js";

/** The `pullkeeper` bin as a user runs it: exit codes, --json, --help, and `dev` as a real process. */

const BIN = resolve(import.meta.dirname, "../../packages/local/bin/pullkeeper.js");
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function cli(args: string[], env: Record<string, string> = {}) {
  // The sources, not a bundle that may predate them.
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, PULLKEEPER_CLI_SOURCES: "1", ...env }, timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const BAD_CONFIGS: [string, string, RegExp][] = [
  ["bad account", `registries:\n  - id: prod\n    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\n    kind: ecr\n    source: { type: ecr-token, account: "12", region: eu-west-1 }\n    secret: s\n`, /registries\[0\]\.source\.account: expected a 12-digit AWS account ID/],
  ["bad region", `registries:\n  - id: prod\n    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\n    kind: ecr\n    source: { type: ecr-token, account: "123456789012", region: moon }\n    secret: s\n`, /registries\[0\]\.source\.region: expected an AWS region/],
  ["same htpasswd user twice", `registries:\n  - id: local\n    host: 127.0.0.1:5000\n    kind: generic\n    source: { type: htpasswd, file: h, users: [a, a] }\n    secret: s\n`, /registries\[0\]\.source\.users: expected two different users/],
  ["bad rotation schedule", `registries:\n  - id: local\n    host: 127.0.0.1:5000\n    kind: generic\n    source: { type: htpasswd, file: h, rotation: "every hour" }\n    secret: s\n`, /registries\[0\]\.source\.rotation: .*expected rate/],
  ["not YAML", "registries: [\n", /is not valid YAML/],
];

describe("pullkeeper CLI", () => {
  it("has --help on every command", () => {
    for (const command of [[], ["dev"], ["validate"], ["refresh"], ["status"], ["audit"], ["history"], ["propagate"], ["consumers"], ["versions"], ["rollback"]]) {
      const run = cli([...command, "--help"]);
      expect(run.code, command.join(" ")).toBe(0);
      expect(run.stdout).toMatch(/^Usage: pullkeeper/);
      // --json is a global option: every command's help says it is there.
      expect(run.stdout, command.join(" ")).toMatch(/^ {2}--json +machine-readable output/m);
    }
  }, 120_000);

  it("validates a good file, for people and for scripts", async () => {
    const ws = await workspace();
    dirs.push(ws.dir);
    expect(cli(["validate", ws.configPath])).toMatchObject({ code: 0, stdout: expect.stringMatching(/is valid: 1 registry, 0 consumers\n$/) });
    const json = cli(["validate", ws.configPath, "--json"]).stdout;
    expect(JSON.parse(json)).toEqual({ valid: true, registries: 1, consumers: 0 });
    expect(json.endsWith("}\n")).toBe(true);
  });

  for (const [name, text, expected] of BAD_CONFIGS) {
    it(`rejects a config with ${name}: path-qualified error, non-zero exit, nothing written`, async () => {
      const ws = await workspace();
      dirs.push(ws.dir);
      await writeFile(ws.configPath, text);
      const validate = cli(["validate", ws.configPath]);
      expect(validate.code).toBe(1);
      expect(validate.stderr).toMatch(expected);
      const json = cli(["validate", ws.configPath, "--json"]);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).valid).toBe(false);
      const dev = cli(["dev", "--config", ws.configPath, "--state-dir", ws.stateDir], { PULLKEEPER_PORT: String(await freePort()) });
      expect(dev.code).toBe(1);
      expect(dev.stderr).toMatch(expected);
      expect(existsSync(ws.stateDir)).toBe(false);
    });
  }

  it("runs `dev` as a daemon: /healthz, token path printed, status and refresh through it, graceful SIGTERM", async () => {
    const ws = await workspace();
    dirs.push(ws.dir);
    const port = await freePort();
    const env = { ...process.env, PULLKEEPER_CLI_SOURCES: "1", PULLKEEPER_PORT: String(port), PULLKEEPER_CONFIG: ws.configPath, PULLKEEPER_STATE_DIR: ws.stateDir };
    const dev = spawn(process.execPath, [BIN, "dev"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    dev.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    dev.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => dev.once("exit", (code) => r(code)));
    try {
      await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined), 30_000, "/healthz");
      // The server answers before the lines about it reach this process.
      await eventually(async () => (stdout.includes("dashboard:") ? true : undefined), 10_000, "the startup lines");
      expect(stdout).toContain(`admin token: ${join(ws.stateDir, "admin-token")}`);
      const status = await eventually(async () => {
        const run = cli(["status", "--json"], env as Record<string, string>);
        const items = JSON.parse(run.stdout) as { current: { versionId: string } | null }[];
        return items[0]?.current ? items : undefined;
      }, 30_000, "a rotated version in status");
      const refresh = cli(["refresh", "--registry", "local"], env as Record<string, string>);
      expect(refresh.code, refresh.stderr).toBe(0);
      expect(refresh.stdout).toMatch(/^local: rotated to /m);
      const after = JSON.parse(cli(["status", "--json"], env as Record<string, string>).stdout) as { current: { versionId: string } }[];
      expect(after[0]?.current.versionId).not.toBe(status[0]?.current?.versionId);
      const table = cli(["status"], env as Record<string, string>);
      expect(table.stdout).toMatch(/registry .* source .* current version .* expires in .* last verified/);
      // An htpasswd user has no expiry: said in words, as the dashboard says it.
      expect(table.stdout).toMatch(/local .* htpasswd .* does not expire .* ok/);

      // Progress for each registry refreshed; off a terminal, one line each on stderr.
      const forced = cli(["refresh", "--force"], env as Record<string, string>);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stderr).toContain("refreshing local (1 of 1 registry)");
      expect(forced.stdout).toMatch(/^local: rotated to /m);
      // On a terminal, a bar instead (util-linux `script` gives the command one), the results after it on stdout.
      if (existsSync("/usr/bin/script")) {
        const stdoutFile = join(ws.dir, "refresh.out");
        const quote = (x: string) => `'${x.replace(/'/g, "'\\''")}'`;
        const onTerminal = spawnSync("script", ["-qec", `${[process.execPath, BIN, "refresh", "--force"].map(quote).join(" ")} >${quote(stdoutFile)}`, "/dev/null"], { encoding: "utf8", env: { ...env, PULLKEEPER_CLI_SOURCES: "1" }, timeout: 60_000 });
        expect(onTerminal.status, onTerminal.stdout).toBe(0);
        expect(stripVTControlCharacters(onTerminal.stdout)).toMatch(/1\/1 registries \| done/);
        expect(await readFile(stdoutFile, "utf8")).toMatch(/^local: rotated to /);
      }

      // Every --json answer is one JSON document ending with a newline, so `jq` and `read` get a whole line.
      for (const args of [["status"], ["history", "local"], ["audit"], ["consumers"], ["versions", "local"], ["refresh"]]) {
        const run = cli([...args, "--json"], env as Record<string, string>);
        expect(run.stdout.endsWith("\n"), args.join(" ")).toBe(true);
        expect(() => JSON.parse(run.stdout), args.join(" ")).not.toThrow();
      }

      // history fits a 100-column terminal, ids shortened, times with their zone.
      const history = cli(["history", "local"], env as Record<string, string>);
      expect(history.code, history.stderr).toBe(0);
      expect(history.stdout).toMatch(/when \(UTC\)/);
      expect(history.stdout).toMatch(/rotated +│ version [0-9a-f]{8} /);
      for (const line of history.stdout.trimEnd().split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);
      const unknown = cli(["history", "lcoal"], env as Record<string, string>);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no registry "lcoal"; the config declares 1 registry: local');
      // With --json a failure is a JSON line on stdout too.
      const unknownJson = cli(["history", "lcoal", "--json"], env as Record<string, string>);
      expect(unknownJson.code).toBe(1);
      expect(unknownJson.stdout.endsWith("\n")).toBe(true);
      expect(JSON.parse(unknownJson.stdout)).toEqual({ error: { code: "not_found", message: 'no registry "lcoal"; the config declares 1 registry: local' } });
    } finally {
      dev.kill("SIGTERM");
    }
    expect(await exited, stderr).toBe(0);
    expect(stdout).toContain("pullkeeper stopped");
  }, 240_000);
});
