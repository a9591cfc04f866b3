import { type BuildOptions, build, type Metafile } from "esbuild";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * Issue 15, benchmark 2: each function next to a peer, a Lambda entry that imports what the
 * function's cold path imports from the AWS SDK clients (@aws-sdk/client-*) and Powertools
 * (@aws-lambda-powertools/*), the same names from the same specifiers, and does nothing else.
 * What the function costs over its peer is its own code and its other dependencies.
 */

const ROOT = resolve(import.meta.dirname, "..");

/**
 * As the stack bundles (stacks/lambda.ts NODEJS_BUNDLING through SST's node runtime,
 * pkg/runtime/node/build.go): ESM with code splitting, minified, names kept, packages' ESM builds
 * first (mainFields module, main: the AWS SDK's dist-es, which tree-shakes, not its dist-cjs), the
 * AWS SDK bundled.
 */
export const LAMBDA_BUILD = {
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  minify: true,
  keepNames: true,
  mainFields: ["module", "main"],
  format: "esm",
  platform: "node",
  target: "esnext",
  metafile: true,
  // SST's banner: bundled CommonJS dependencies call require() and read __filename/__dirname; ESM has none of them.
  banner: {
    js: [
      "import { createRequire as topLevelCreateRequire } from 'module';",
      "const require = topLevelCreateRequire(import.meta.url);",
      'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"',
      "const __filename = topLevelFileUrlToPath(import.meta.url)",
      'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))',
    ].join("\n"),
  },
  logLevel: "error",
} as const satisfies BuildOptions;

/** The output files a cold start loads: the entry and every chunk it imports statically, not the lazily imported ones. */
export function coldLoadFiles(metafile: Metafile, entry: string): string[] {
  const outputs = new Map(Object.entries(metafile.outputs).map(([path, o]) => [resolve(ROOT, path), o]));
  const seen = new Set<string>();
  const visit = (path: string) => {
    const out = outputs.get(path);
    if (seen.has(path) || !out) return;
    seen.add(path);
    for (const i of out.imports) if (i.kind === "import-statement") visit(resolve(ROOT, i.path));
  };
  visit(resolve(entry));
  return [...seen];
}

const PEER_SPECIFIER = /^@aws-sdk\/client-[\w-]+$|^@aws-lambda-powertools\/[\w-]+(?:\/[\w/-]+)?$/;
const STATIC_IMPORT = /^\s*import\s+(?!type\s)([^;]*?)\s+from\s+["']([^"']+)["']/gm;

/**
 * What the function's own cold-path sources import, by value, from the SDK clients and
 * Powertools: specifier → names. Type-only imports load nothing and are left out.
 */
export function peerImports(metafile: Metafile, entry: string): Map<string, Set<string>> {
  const cold = new Set(coldLoadFiles(metafile, entry));
  const sources = new Set<string>();
  for (const [path, out] of Object.entries(metafile.outputs)) {
    if (!cold.has(resolve(ROOT, path))) continue;
    for (const input of Object.keys(out.inputs)) if (!input.includes("node_modules/")) sources.add(input);
  }
  const wanted = new Map<string, Set<string>>();
  for (const source of sources) {
    const text = readFileSync(resolve(ROOT, source), "utf8");
    for (const [, clause = "", specifier = ""] of text.matchAll(STATIC_IMPORT)) {
      if (!PEER_SPECIFIER.test(specifier)) continue;
      const names = wanted.get(specifier) ?? new Set<string>();
      wanted.set(specifier, names);
      const braces = /\{([^}]*)\}/.exec(clause);
      for (const item of braces?.[1]?.split(",") ?? []) {
        const name = item.trim();
        if (name !== "" && !name.startsWith("type ")) names.add(name.split(/\s+as\s+/)[0] ?? name);
      }
      const star = /\*\s+as\s+\w+/.test(clause);
      if (star) names.add("*");
    }
  }
  for (const [specifier, names] of wanted) if (names.size === 0) wanted.delete(specifier);
  return wanted;
}

/** The peer's source: those imports, kept alive by the handler's return value. */
export function peerSource(imports: ReadonlyMap<string, ReadonlySet<string>>): string {
  const lines: string[] = [];
  const kept: string[] = [];
  let n = 0;
  for (const [specifier, names] of [...imports].sort(([a], [b]) => a.localeCompare(b))) {
    for (const name of [...names].sort()) {
      const local = `p${n++}`;
      lines.push(name === "*" ? `import * as ${local} from ${JSON.stringify(specifier)};` : `import { ${name} as ${local} } from ${JSON.stringify(specifier)};`);
      kept.push(local);
    }
  }
  lines.push(`export const handler = async () => [${kept.join(", ")}].length;`);
  return `${lines.join("\n")}\n`;
}

export interface PeerFigures {
  /** Specifier → names the peer imports. */
  readonly imports: ReadonlyMap<string, ReadonlySet<string>>;
  readonly bundleBytes: number;
  readonly gzipBytes: number;
  /** The bundled peer's entry, to time its import next to the function's (bench/run.ts, interleaved). */
  readonly entry: string;
}

/**
 * Builds `name`'s peer from the function's metafile, bundled as the function is (LAMBDA_BUILD), and
 * measures it as the function is: cold-path bytes and gzipped; its entry for timing its import.
 */
export async function measurePeer(name: string, metafile: Metafile, entry: string, outRoot: string): Promise<PeerFigures> {
  const imports = peerImports(metafile, entry);
  // Inside the repository, so the peer resolves the same node_modules as the function.
  const dir = join(outRoot, `peer-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const source = join(dir, `peer-${name}.ts`);
  writeFileSync(source, peerSource(imports));
  const outdir = join(dir, "dist");
  const built = await build({ ...LAMBDA_BUILD, entryPoints: [source], outdir });
  const peerEntry = join(outdir, `peer-${name}.js`);
  const cold = coldLoadFiles(built.metafile, peerEntry);
  return {
    imports,
    bundleBytes: cold.reduce((n, f) => n + statSync(f).size, 0),
    gzipBytes: cold.reduce((n, f) => n + gzipSync(readFileSync(f)).length, 0),
    entry: peerEntry,
  };
}
