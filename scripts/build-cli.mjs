// npm run build:cli (and the root `prepare`, so `npm ci` builds it): bundles the `pullkeeper` CLI into
// packages/local/dist/ (gitignored), which packages/local/bin/pullkeeper.js runs.
//
// Plain JavaScript, run by node: `prepare` must not need tsx, and a build must not cost a TypeScript
// loader's start-up. `--outdir DIR` builds elsewhere (the staleness test compares the two).
//
// Why a bundle: run through tsx, every command took 3.5 to 8 s compiling sources and printed a
// loader warning. The workspace packages (@pullkeeper/*) export TypeScript sources, so they and the
// functions/ the runtime calls are bundled; every real dependency in node_modules stays external and
// is loaded from there as usual. Code splitting keeps the runtime (dynalite, the AWS SDK, Powertools)
// in chunks that only `dev` and the in-process fallback import: without it their imports would be
// hoisted into the entry file and load on every command.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_OUTDIR = join(ROOT, "packages/local/dist");
/** Which sources the build read, paths relative to the repository root, and when. */
export const BUILD_INFO = "build-info.json";


/** Where the built CLI runs from: node resolves its external imports from here, wherever it was built. */
const RUN_DIR = join(ROOT, "packages/local/dist");
const CLI_SOURCES = join(ROOT, "packages/local/src/cli") + sep;
/** See that file: the CLI's start-up imports from core, without the config schema (zod, yaml). */
const CORE_LIGHT = join(CLI_SOURCES, "core-light.ts");

/**
 * A bare specifier outside the workspace stays external (node loads it from node_modules at run time)
 * when node, starting from RUN_DIR, finds the very file the importing source would get. Otherwise it is
 * bundled: a workspace package may hold its own copy of a dependency in another major version
 * (packages/core/node_modules/p-limit 7 next to the root's p-limit 3), which dist/ could not reach.
 */
const externalDependencies = {
  name: "external-dependencies",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData?.probe) return undefined;
      if (args.path === "@pullkeeper/core" && args.kind === "import-statement" && args.importer.startsWith(CLI_SOURCES)) return { path: CORE_LIGHT };
      if (args.path.startsWith("@pullkeeper/")) return undefined;
      if (args.path.startsWith("node:") || builtinModules.includes(args.path.split("/")[0])) return { path: args.path, external: true };
      const probe = (resolveDir) => build.resolve(args.path, { kind: args.kind, resolveDir, pluginData: { probe: true } });
      const [fromSource, fromRunDir] = await Promise.all([probe(args.resolveDir), probe(RUN_DIR)]);
      if (fromSource.errors.length === 0 && fromRunDir.errors.length === 0 && fromSource.path === fromRunDir.path) return { path: args.path, external: true };
      return undefined;
    });
  },
};

export async function buildCli(outdir = DEFAULT_OUTDIR) {
  const { build } = await import("esbuild");
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  // Taken before esbuild reads anything: a source saved during the build counts as newer than it.
  const builtAt = Date.now();
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { cli: join(ROOT, "packages/local/src/cli.ts") },
    outdir,
    entryNames: "[name]",
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    plugins: [externalDependencies],
    // Kept readable: stack traces of a local tool are read by people, and the size does not matter.
    minify: false,
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
  });
  // What the bin compares against the sources' mtimes, to run them through tsx rather than a stale build.
  const inputs = Object.keys(result.metafile.inputs).filter((path) => !path.includes("node_modules/"));
  await writeFile(join(outdir, BUILD_INFO), `${JSON.stringify({ builtAt, inputs }, null, 1)}\n`);
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--outdir");
  const outdir = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : DEFAULT_OUTDIR;
  try {
    await import("esbuild");
  } catch {
    // `npm ci --omit=dev` has no esbuild: the bin then runs the sources through tsx (slower, same CLI).
    process.stderr.write("build-cli: esbuild is not installed (dev dependencies omitted?); packages/local/bin/pullkeeper.js will run the sources through tsx\n");
    process.exit(0);
  }
  const started = Date.now();
  const result = await buildCli(outdir);
  const files = Object.keys(result.metafile.outputs).length;
  process.stdout.write(`${relative(process.cwd(), outdir) || "."}: cli.js and ${files - 1} chunks in ${Date.now() - started} ms\n`);
}
