import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { coldLoadFiles, LAMBDA_BUILD } from "../../bench/peer.js";
import { writeShippedConfig } from "../support/shipped-config.js";

// Every function bundled as the stack bundles it (bench/peer.ts's LAMBDA_BUILD, which mirrors SST's
// node runtime: ESM, code splitting, packages' ESM builds first, SST's banner), then loaded by a fresh node. A dependency whose require()s
// esbuild cannot follow (a UMD build, as jsonc-parser's main was) passes every test that runs the
// sources and fails only here — or at the first invocation on AWS.
const ROOT = resolve(import.meta.dirname, "../..");
const functions = readdirSync(join(ROOT, "functions")).filter((f) => f.endsWith(".ts"));
const out = mkdtempSync(join(tmpdir(), "pullkeeper-bundles-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const shipped = join(out, "pullkeeper.json");
writeShippedConfig(shipped, readFileSync(join(ROOT, "pullkeeper.yaml"), "utf8"));

describe("each function's bundle loads", () => {
  it.each(functions)("%s", async (file) => {
    const name = file.replace(/\.ts$/, "");
    const built = await build({ ...LAMBDA_BUILD, entryPoints: [join(ROOT, "functions", file)], outdir: join(out, name), logLevel: "silent" });
    // The functions read the deploy's JSON: no YAML parser in what a cold start loads (it was
    // ~116 KB of every function's, since the config reader and its YAML shared one module).
    const cold = new Set(coldLoadFiles(built.metafile, join(out, name, `${name}.js`)));
    const coldInputs = Object.entries(built.metafile.outputs)
      .filter(([path]) => cold.has(resolve(ROOT, path)))
      .flatMap(([, o]) => Object.entries(o.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([input]) => input));
    expect(coldInputs.filter((input) => input.includes("node_modules/yaml/"))).toEqual([]);
    // Nor all of zod: importing its `z` namespace object as a value (Powertools' EventBridgeSchema
    // did) takes every locale and the JSON Schema converters along, ~350 KB. English only.
    expect(coldInputs.filter((input) => input.includes("node_modules/zod/v4/locales/") && !input.endsWith("/en.js"))).toEqual([]);
    const entry = pathToFileURL(join(out, name, `${name}.js`)).href;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(entry)});`], {
      cwd: ROOT,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", PULLKEEPER_CONFIG: shipped, AWS_REGION: "eu-west-1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "1" },
      timeout: 60_000,
    });
    expect(run.stderr.split("\n").filter((l) => /Error|Cannot find/.test(l))).toEqual([]);
    expect(run.status).toBe(0);
  }, 120_000);
});
