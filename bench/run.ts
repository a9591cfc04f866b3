import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

/**
 * `npm run bench`: each function's bundle as Lambda would get it (esbuild, minified, ESM, the
 * AWS SDK bundled, not taken from the runtime) and its cold import time next to a bare
 * `node -e ""`. Prints a JSON array of {name, value, unit, bound, ratio} and writes it to
 * bench/results.json. Bounds are budgets, not test assertions.
 */

interface Result {
  name: string;
  value: number;
  unit: string;
  bound?: number;
  ratio?: number;
}

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "bench", "out");
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const BUDGET = { bundleBytes: 2_000_000, gzipBytes: 500_000, importMs: 600 };

const result = (name: string, value: number, unit: string, bound?: number): Result => ({
  name,
  value: Math.round(value * 100) / 100,
  unit,
  ...(bound !== undefined && { bound, ratio: Math.round((value / bound) * 1000) / 1000 }),
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Wall time of a fresh node process running `code`, median of RUNS (after one warm-up for the disk cache). */
function timeNode(code: string): number {
  const once = () => {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (run.status !== 0) throw new Error(`node exited ${run.status}: ${run.stderr}`);
    return ms;
  };
  once();
  return median(Array.from({ length: RUNS }, once));
}

mkdirSync(OUT, { recursive: true });
const functions = readdirSync(join(ROOT, "functions")).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
const results: Result[] = [];
const bare = timeNode("");
results.push(result("cold-start.node-bare", bare, "ms"));

for (const file of functions) {
  const name = file.replace(/\.ts$/, "");
  const outfile = join(OUT, `${name}.mjs`);
  await build({
    entryPoints: [join(ROOT, "functions", file)],
    outfile,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node22",
    // Bundled CommonJS dependencies call require(); ESM has none, so give them one.
    banner: { js: "import { createRequire as __pkCreateRequire } from 'node:module'; const require = __pkCreateRequire(import.meta.url);" },
    logLevel: "error",
  });
  const bytes = statSync(outfile).size;
  results.push(result(`bundle.${name}`, bytes, "bytes", BUDGET.bundleBytes));
  results.push(result(`bundle-gzip.${name}`, gzipSync(readFileSync(outfile)).length, "bytes", BUDGET.gzipBytes));
  const imported = timeNode(`await import(${JSON.stringify(pathToFileURL(outfile).href)});`);
  results.push(result(`cold-import.${name}`, imported, "ms", BUDGET.importMs));
  results.push(result(`cold-import-over-bare.${name}`, imported - bare, "ms"));
}

const json = JSON.stringify(results, null, 2);
writeFileSync(join(ROOT, "bench", "results.json"), `${json}\n`);
process.stdout.write(`${json}\n`);
