import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { LAMBDA_BUILD } from "../../bench/peer.js";

// Every function bundled as the stack bundles it (bench/peer.ts's LAMBDA_BUILD, which mirrors SST's
// node runtime: ESM, code splitting, packages' ESM builds first, SST's banner), then loaded by a fresh node. A dependency whose require()s
// esbuild cannot follow (a UMD build, as jsonc-parser's main was) passes every test that runs the
// sources and fails only here — or at the first invocation on AWS.
const ROOT = resolve(import.meta.dirname, "../..");
const functions = readdirSync(join(ROOT, "functions")).filter((f) => f.endsWith(".ts"));
const out = mkdtempSync(join(tmpdir(), "pullkeeper-bundles-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("each function's bundle loads", () => {
  it.each(functions)("%s", async (file) => {
    const name = file.replace(/\.ts$/, "");
    await build({ ...LAMBDA_BUILD, entryPoints: [join(ROOT, "functions", file)], outdir: join(out, name), metafile: false, logLevel: "silent" });
    const entry = pathToFileURL(join(out, name, `${name}.js`)).href;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(entry)});`], {
      cwd: ROOT,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", PULLKEEPER_CONFIG: join(ROOT, "pullkeeper.yaml"), AWS_REGION: "eu-west-1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "1" },
      timeout: 60_000,
    });
    expect(run.stderr.split("\n").filter((l) => /Error|Cannot find/.test(l))).toEqual([]);
    expect(run.status).toBe(0);
  }, 120_000);
});
