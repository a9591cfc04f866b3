import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";

/**
 * The CLI ships built (scripts/build-cli.mjs → packages/local/dist, run by `npm ci`'s prepare):
 * the built files are what the sources build to, the bin runs them, and `status` against a
 * running runtime loads none of the runtime (dynalite, the AWS SDK, Powertools, the config schema).
 */

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "packages/local/bin/pullkeeper.js");
const DIST = join(ROOT, "packages/local/dist");
const dirs: string[] = [];
const runtimes: EmbeddedRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-cli-build-"));
  dirs.push(dir);
  return dir;
}

/** Every file under `dir` but the build's timestamped input list, by path relative to it. */
function tree(dir: string): Record<string, string> {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f !== "build-info.json" && statSync(join(dir, f)).isFile());
  return Object.fromEntries(files.sort().map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

/**
 * Runs the bin with a module-resolution hook that records every module node loads, to `trace`.
 * Async, so a runtime started in this process answers meanwhile.
 */
async function traced(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[]; ms: number }> {
  const dir = await tempDir();
  const trace = join(dir, "modules.txt");
  await writeFile(join(dir, "hooks.mjs"), `import { appendFileSync } from "node:fs";\nexport async function resolve(specifier, context, next) {\n  const r = await next(specifier, context);\n  appendFileSync(${JSON.stringify(trace)}, r.url + "\\n");\n  return r;\n}\n`);
  await writeFile(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(`file://${join(dir, "hooks.mjs")}`)});\n`);
  await writeFile(trace, "");
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", join(dir, "register.mjs"), BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  return { code, stdout, stderr, modules: readFileSync(trace, "utf8").split("\n").filter(Boolean), ms: Date.now() - started };
}

/** What a command that talks to a running runtime must not load. */
const HEAVY = [/\/node_modules\/tsx\//, /\/node_modules\/dynalite\//, /\/node_modules\/@aws-sdk\//, /\/node_modules\/@aws-lambda-powertools\//, /\/node_modules\/zod\//, /\/node_modules\/yaml\//, /\/dist\/chunks\/runtime-/, /\/src\/.*\.ts$/];
const heavyIn = (modules: string[]) => [...new Set(modules.filter((m) => HEAVY.some((h) => h.test(m))).map((m) => relative(ROOT, new URL(m).pathname)))].slice(0, 12);

describe("the built CLI", () => {
  it("packages/local/dist is what the sources build to (else: npm run build:cli)", async () => {
    expect(existsSync(join(DIST, "cli.js")), "packages/local/dist/cli.js is missing: run npm run build:cli").toBe(true);
    const out = await tempDir();
    const build = spawnSync(process.execPath, [join(ROOT, "scripts/build-cli.mjs"), "--outdir", out], { encoding: "utf8", timeout: 120_000 });
    expect(build.status, build.stderr).toBe(0);
    const fresh = tree(out);
    const built = tree(DIST);
    expect(Object.keys(built), "packages/local/dist is stale: run npm run build:cli").toEqual(Object.keys(fresh));
    for (const [file, text] of Object.entries(fresh)) expect(built[file] === text, `packages/local/dist/${file} is stale: run npm run build:cli`).toBe(true);
    // The inputs the bin checks for staleness are the sources the bundle holds, relative to the repository.
    const info = JSON.parse(readFileSync(join(DIST, "build-info.json"), "utf8")) as { builtAt: number; inputs: string[] };
    expect(info.inputs).toContain("packages/local/src/cli.ts");
    expect(info.inputs).toContain("packages/local/src/runtime.ts");
    for (const input of info.inputs) expect(existsSync(join(ROOT, input)), input).toBe(true);
  });

  it("the bin runs dist/cli.js: --help loads no tsx, no TypeScript source, nothing of the runtime", async () => {
    const run = await traced(["--help"], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: pullkeeper/);
    expect(run.stderr, "the bin fell back to the sources: run npm run build:cli").toBe("");
    expect(run.modules.some((m) => m.endsWith("/packages/local/dist/cli.js"))).toBe(true);
    expect(heavyIn(run.modules)).toEqual([]);
  });

  it("status finds a runtime on another port through its runtime.json, answers from it, and loads nothing of the runtime", async () => {
    const dir = await tempDir();
    const configPath = join(dir, "pullkeeper.yaml");
    const stateDir = join(dir, "state");
    await writeFile(configPath, "registries:\n  - { id: hub, host: registry-1.docker.io, kind: dockerhub, source: { type: managed-secret }, secret: team/hub }\n");
    // Port 0: whatever is free, never the default; the CLI below is not told which.
    const runtime = await EmbeddedRuntime.start({ configPath, stateDir, port: 0, log: () => undefined });
    runtimes.push(runtime);
    const record = JSON.parse(readFileSync(join(stateDir, "runtime.json"), "utf8")) as { url: string; port: number; pid: number; startedAt: string };
    expect(record).toMatchObject({ url: runtime.server?.url, port: runtime.server?.port, pid: process.pid });
    expect(statSync(join(stateDir, "runtime.json")).mode & 0o777).toBe(0o600);

    const run = await traced(["status", "--json"], { PULLKEEPER_PORT: undefined, PULLKEEPER_CONFIG: configPath, PULLKEEPER_STATE_DIR: stateDir });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { id: string }[]).map((r) => r.id)).toEqual(["hub"]);
    expect(run.stderr, "the bin fell back to the sources: run npm run build:cli").toBe("");
    expect(heavyIn(run.modules), "status loaded part of the runtime").toEqual([]);

    await runtime.stop();
    expect(existsSync(join(stateDir, "runtime.json")), "runtime.json is removed on stop").toBe(false);
  });
});
