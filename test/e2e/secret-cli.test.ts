import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { eventually } from "./support/harness.js";

/**
 * `pullkeeper secret put/list` as a user runs them: the value comes from stdin or a file, is stored
 * where the runtime and the targets read it, reaches a registry's consumers when a runtime runs,
 * and is never printed nor stored in clear.
 */

const BIN = resolve(import.meta.dirname, "../../packages/local/bin/pullkeeper.js");
const dirs: string[] = [];
const runtimes: EmbeddedRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

// Distinctive, so a leak anywhere is found by a byte search.
const PASSWORD = "pw-8d2f1c7e-never-print-me";
const TOKEN = "ghp_tok3n5a9b0c1d2e3f4-never-print-me";

async function world(consumerPath?: string) {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-secret-cli-"));
  dirs.push(dir);
  const configPath = join(dir, "pullkeeper.yaml");
  const consumers = consumerPath ? `consumers:\n  - { id: laptop, registry: hub, target: { kind: docker-config, path: "${consumerPath}" } }\n` : "";
  await writeFile(configPath, `registries:\n  - { id: hub, host: registry.example.com, kind: generic, source: { type: managed-secret }, secret: team/hub }\n${consumers}`);
  return { dir, configPath, stateDir: join(dir, "state") };
}

function cliEnv(w: { configPath: string; stateDir: string }) {
  // No PULLKEEPER_PORT: the runtime, when there is one, is found through its runtime.json.
  const env: NodeJS.ProcessEnv = { ...process.env, PULLKEEPER_CONFIG: w.configPath, PULLKEEPER_STATE_DIR: w.stateDir };
  delete env.PULLKEEPER_PORT;
  return env;
}

function cli(args: string[], w: { configPath: string; stateDir: string }, input?: string) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: cliEnv(w), input: input ?? "", timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Without blocking this process: a runtime started in it must answer the CLI meanwhile. */
async function cliAsync(args: string[], w: { configPath: string; stateDir: string }, input: string) {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(w), stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input);
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  return { code, stdout, stderr };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

/** No file of the state directory holds `value` in clear (the vault encrypts; nothing else may hold it). */
function expectNowhereInClear(stateDir: string, value: string) {
  const files = filesUnder(stateDir);
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) expect(readFileSync(file).includes(Buffer.from(value)), file).toBe(false);
}

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(filesUnder(dir).map((f) => [f, readFileSync(f).toString("base64")]));
}

describe("pullkeeper secret", () => {
  it("put reads a login from stdin and a token from a file; list shows names and stages, never a value", async () => {
    const w = await world();
    const login = cli(["secret", "put", "team/hub", "--username", "robot", "--password-stdin"], w, `${PASSWORD}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/^secret team\/hub: created; version [0-9a-f-]{36} is AWSCURRENT \(login of robot\)/);
    expect(login.stdout).toMatch(/no runtime is running/);

    const tokenFile = join(w.dir, "token.txt");
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const token = cli(["secret", "put", "github/token", "--from-file", tokenFile, "--json"], w);
    expect(token.code, token.stderr).toBe(0);
    expect(JSON.parse(token.stdout)).toMatchObject({ name: "github/token", created: true, through: "vault" });

    // A second put: a new AWSCURRENT, the first version becomes AWSPREVIOUS.
    const again = cli(["secret", "put", "team/hub", "--username", "robot", "--password-stdin"], w, `${PASSWORD}-2`);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/created/);

    const list = cli(["secret", "list"], w);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/github\/token .* AWSCURRENT/);
    expect(list.stdout).toMatch(/team\/hub .* AWSCURRENT/);
    expect(list.stdout).toMatch(/team\/hub .* AWSPREVIOUS/);
    const json = JSON.parse(cli(["secret", "list", "--json"], w).stdout) as { name: string; versions: { stages: string[] }[] }[];
    expect(json.map((s) => s.name)).toEqual(["github/token", "team/hub"]);
    expect(json[1]?.versions.map((v) => v.stages)).toEqual([["AWSPREVIOUS"], ["AWSCURRENT"]]);

    // Stored in the shape the runtime and the targets read: {username, password}.
    const vault = new LocalVault({ dir: join(w.stateDir, "vault") });
    const hub = await vault.read("team/hub", { stage: "AWSCURRENT" });
    expect([hub.credential.username, hub.credential.password.reveal()]).toEqual(["robot", `${PASSWORD}-2`]);
    expect((await vault.read("github/token", { stage: "AWSCURRENT" })).credential.password.reveal()).toBe(TOKEN);

    for (const run of [login, token, again, list]) {
      for (const secret of [PASSWORD, TOKEN]) expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
    }
    expectNowhereInClear(w.stateDir, PASSWORD);
    expectNowhereInClear(w.stateDir, TOKEN);
  });

  it("put through a running runtime: it writes the vault and delivers the new login to the registry's consumers", async () => {
    const consumerPath = join(tmpdir(), `pullkeeper-secret-cli-docker-${process.pid}-${Date.now()}`, "config.json");
    dirs.push(join(consumerPath, ".."));
    const w = await world(consumerPath);
    // Port 0: not the default port, and the CLI is not told which: it reads <stateDir>/runtime.json.
    const runtime = await EmbeddedRuntime.start({ configPath: w.configPath, stateDir: w.stateDir, port: 0, log: () => undefined, delivery: { baseBackoffMs: 50 } });
    runtimes.push(runtime);

    const put = await cliAsync(["secret", "put", "team/hub", "--username", "robot", "--password-stdin", "--json"], w, PASSWORD);
    expect(put.code, put.stderr).toBe(0);
    const answer = JSON.parse(put.stdout) as { versionId: string; through: string; propagation: { propagated: boolean; requested: number } };
    expect(answer).toMatchObject({ through: "runtime", propagation: { propagated: true, requested: 1 } });
    expect((await runtime.vault.read("team/hub", { stage: "AWSCURRENT" })).versionId).toBe(answer.versionId);

    // What a Secrets Manager change triggers on AWS: the consumer gets the value.
    const auths = await eventually(async () => {
      const doc = JSON.parse(await readFile(consumerPath, "utf8")) as { auths: Record<string, { auth: string }> };
      return doc.auths["registry.example.com"];
    }, 30_000, "the docker config written");
    expect(Buffer.from(auths.auth, "base64").toString()).toBe(`robot:${PASSWORD}`);

    expect(`${put.stdout}${put.stderr}`).not.toContain(PASSWORD);
    expectNowhereInClear(w.stateDir, PASSWORD);
  });

  it("put refuses to write behind a runtime that holds the state directory but does not answer", async () => {
    const w = await world();
    await mkdir(w.stateDir, { recursive: true });
    // This test process stands in for a runtime that is still starting: it holds the store's lock, serves nothing.
    await writeFile(join(w.stateDir, "dynamo.lock"), `${process.pid}\n`);
    const run = cli(["secret", "put", "team/hub", "--value-stdin"], w, TOKEN);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`process ${process.pid} holds .* but nothing answers for it over HTTP.*Nothing was written`));
    expect(existsSync(join(w.stateDir, "vault"))).toBe(false);
  });

  const BAD: [string, string[], string | undefined, RegExp][] = [
    ["empty stdin", ["--value-stdin"], "", /stdin is empty: nothing to store/],
    ["only a newline on stdin", ["--username", "robot", "--password-stdin"], "\n", /stdin is empty/],
    ["both --password-stdin and --value-stdin", ["--username", "robot", "--password-stdin", "--value-stdin"], TOKEN, /takes the value from one place, got --password-stdin and --value-stdin/],
    ["no value source", ["--username", "robot"], undefined, /needs the value from --password-stdin .* never takes it as an argument/],
    ["--password-stdin without --username", ["--password-stdin"], PASSWORD, /give its user with --username/],
    ["--value-stdin with --username", ["--value-stdin", "--username", "robot"], TOKEN, /--value-stdin stores a token or key without a user/],
    ["an unknown flag", ["--value-stdin", "--secret-string", TOKEN], TOKEN, /unknown option '--secret-string'/],
    ["the value as an argument", [TOKEN, "--value-stdin"], TOKEN, /too many arguments/],
    ["two lines on stdin", ["--value-stdin"], `${TOKEN}\nsecond line\n`, /stdin holds more than one line/],
    ["a missing file", ["--from-file", "/nonexistent/pullkeeper-token"], undefined, /cannot read \/nonexistent\/pullkeeper-token: ENOENT/],
  ];
  for (const [name, args, input, message] of BAD) {
    it(`put refuses ${name}: non-zero exit, a clear message, nothing written`, async () => {
      const w = await world();
      const run = cli(["secret", "put", "team/hub", ...args], w, input);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(message);
      expect(`${run.stdout}${run.stderr}`).not.toContain(TOKEN);
      expect(`${run.stdout}${run.stderr}`).not.toContain(PASSWORD);
      expect(existsSync(w.stateDir)).toBe(false);
    });
  }

  it("put refuses the secret of a registry pullkeeper rotates or mints: its value would not open the registry", async () => {
    const w = await world();
    await writeFile(
      w.configPath,
      `registries:\n  - { id: local, host: "127.0.0.1:5000", kind: generic, source: { type: htpasswd, file: htpasswd }, secret: team/local }\n  - { id: prod, host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com, kind: ecr, source: { type: ecr-token, account: "123456789012", region: eu-west-1 }, secret: team/prod }\n`,
    );
    const rotated = cli(["secret", "put", "team/local", "--username", "robot", "--password-stdin"], w, PASSWORD);
    expect(rotated.code).toBe(1);
    expect(rotated.stderr).toMatch(/secret team\/local is registry local's, whose login pullkeeper rotates \(source htpasswd\).*pullkeeper refresh --registry local/);
    const minted = cli(["secret", "put", "team/prod", "--value-stdin"], w, TOKEN);
    expect(minted.code).toBe(1);
    expect(minted.stderr).toMatch(/secret team\/prod is registry prod's, whose login pullkeeper mints \(source ecr-token\)/);
    expect(existsSync(w.stateDir)).toBe(false);
  });

  it("put refuses a bad name and bad input next to existing secrets, changing none of them", async () => {
    const w = await world();
    expect(cli(["secret", "put", "team/hub", "--value-stdin"], w, TOKEN).code).toBe(0);
    const before = snapshot(w.stateDir);
    const badName = cli(["secret", "put", "no spaces allowed", "--value-stdin"], w, TOKEN);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/secret name must be 1 to 512 characters/);
    expect(cli(["secret", "put", "team/hub", "--value-stdin"], w, "").code).toBe(1);
    expect(snapshot(w.stateDir)).toEqual(before);
  });
});
