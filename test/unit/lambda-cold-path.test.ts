import { build, type Metafile } from "esbuild";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { coldLoadFiles, LAMBDA_BUILD } from "../../bench/peer.js";

/**
 * What each Lambda loads at a cold start (its entry and the chunks it imports statically), bundled
 * as the stacks and the bench bundle it: none of it may be what only validates or runs schedules
 * (cron-parser and its luxon: the config checks that walk a cron's runs are made ahead of time,
 * config/schedule-check.ts) nor zod's ~260 KB of translated messages (issue 15, benchmark 2).
 */

const ROOT = resolve(import.meta.dirname, "../..");
const FUNCTIONS = readdirSync(join(ROOT, "functions"))
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
  .map((f) => f.replace(/\.ts$/, ""));
const OUTDIR = join(ROOT, "bench", "out", "cold-path-test");
const SCHEDULE_RUNNERS = /node_modules\/(?:cron-parser|luxon)\//;
const ZOD_LOCALES = /node_modules\/zod\/.*\/locales\/(?!en\.)/;
/** Powertools' parser imports `{ z } from "zod"`, which takes zod's whole namespace, locales too (its peer has them as well). */
const POWERTOOLS_PARSER = /node_modules\/@aws-lambda-powertools\/parser\//;

/** One build of `names` (fewer builds than one per function: this machine's CPUs are shared); nothing is written. */
async function bundle(names: readonly string[]): Promise<Metafile> {
  return (await build({ ...LAMBDA_BUILD, entryPoints: names.map((n) => join(ROOT, "functions", `${n}.ts`)), outdir: OUTDIR, write: false })).metafile;
}

/** The files `name`'s cold path holds code of (esbuild lists the ones it shook out whole too, with 0 bytes). */
function coldInputs(metafile: Metafile, name: string): string[] {
  const cold = new Set(coldLoadFiles(metafile, join(OUTDIR, `${name}.js`)));
  expect(cold.size).toBeGreaterThan(0);
  return Object.entries(metafile.outputs).flatMap(([path, out]) => (cold.has(resolve(ROOT, path)) ? Object.entries(out.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([input]) => input) : []));
}

const all = new Map<string, string[]>();
/** The functions without Powertools' parser, built together without the others (a shared build shares zod's namespace chunk). */
const withoutParser = new Map<string, string[]>();
beforeAll(async () => {
  const metafile = await bundle(FUNCTIONS);
  for (const name of FUNCTIONS) all.set(name, coldInputs(metafile, name));
  const names = FUNCTIONS.filter((name) => !all.get(name)?.some((i) => POWERTOOLS_PARSER.test(i)));
  if (names.length === 0) return;
  const own = await bundle(names);
  for (const name of names) withoutParser.set(name, coldInputs(own, name));
});

describe.each(FUNCTIONS)("the %s function's cold path", (name) => {
  it("holds zod (the config schema), but neither cron-parser nor luxon", () => {
    const inputs = all.get(name) ?? [];
    expect(inputs.some((i) => i.includes("node_modules/zod/"))).toBe(true);
    expect(inputs.filter((i) => SCHEDULE_RUNNERS.test(i))).toEqual([]);
  });

  it("holds zod's locales only where Powertools' parser brings them", () => {
    const inputs = withoutParser.get(name);
    if (inputs === undefined) expect(all.get(name)?.filter((i) => POWERTOOLS_PARSER.test(i))).not.toEqual([]);
    else expect(inputs.filter((i) => ZOD_LOCALES.test(i))).toEqual([]);
  });
});
