import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve } from "node:path";
import { cruise, type ICruiseResult, type IModule } from "dependency-cruiser";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The import graph of every TypeScript source in the repository, as dependency-cruiser reads it:
 * relative imports, the @pullkeeper/* workspaces (resolved through their `exports` to
 * packages/<name>/src) and dynamic import() alike; node_modules are leaves.
 *
 * Type-only imports count: a cycle through types is still two modules that cannot be read, moved
 * or split one without the other (`core/delivery.ts` ↔ `core/environments.ts` was one).
 */
const ROOT = resolve(import.meta.dirname, "../..");
const SOURCES = ["packages", "functions", "stacks", "test", "bench", "scripts", "sst.config.ts"];

async function importGraph(sources: readonly string[], baseDir: string): Promise<ICruiseResult> {
  const { output } = await cruise(
    [...sources],
    {
      baseDir,
      tsPreCompilationDeps: true,
      exclude: { path: "(^|/)(node_modules|dist|\\.sst|bench/out|test-output)/" },
      doNotFollow: { path: "node_modules" },
      tsConfig: { fileName: join(ROOT, "tsconfig.json") },
      enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "default"], mainFields: ["module", "main"] },
      validate: true,
      ruleSet: {
        forbidden: [
          { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
          // functions/ holds the Lambda entry points only; the packages (the embedded runtime too) share the handlers in packages/aws.
          { name: "packages-not-functions", severity: "error", from: { path: "^packages/" }, to: { path: "^functions/" } },
          // Core decides and does no I/O: of node's builtins it may hash (crypto: fingerprints of
          // discovered environments) and inspect (util, in its tests); files, sockets, HTTP and
          // processes belong to the adapters.
          { name: "core-no-io-builtins", severity: "error", from: { path: "^packages/core/" }, to: { dependencyTypes: ["core"], pathNot: "^(crypto|util)$" } },
          // Core depends on no other workspace and nothing else in the repository; npm libraries are fine.
          { name: "core-only-core", severity: "error", from: { path: "^packages/core/" }, to: { dependencyTypesNot: ["core"], pathNot: "^(packages/core/|node_modules/)" } },
        ],
      },
    },
    {},
    { tsConfig: extractTSConfig(join(ROOT, "tsconfig.json")) },
  );
  return withLazyImports(output as ICruiseResult, baseDir);
}

/**
 * A target module loads its implementation with `import("./x-target.js" as string)`
 * (packages/core/src/model/target-module.ts, defineTargetModule): esbuild bundles it as a chunk, but
 * neither tsc (on purpose: the stacks' program stays light) nor dependency-cruiser follows a
 * non-literal argument. Such an import is an edge all the same: added here.
 */
function withLazyImports(graph: ICruiseResult, baseDir: string): ICruiseResult {
  const known = new Set(graph.modules.map((m) => m.source));
  for (const m of graph.modules) {
    if (!m.source.endsWith("/module.ts") || m.source.includes("node_modules")) continue;
    const text = readFileSync(join(baseDir, m.source), "utf8");
    for (const [, specifier] of text.matchAll(/import\(\s*"(\.{1,2}\/[^"]+)"\s+as\s+string\s*\)/g)) {
      const resolved = posix.join(dirname(m.source), (specifier as string).replace(/\.js$/, ".ts"));
      if (!known.has(resolved)) throw new Error(`${m.source}: import("${specifier}" as string) resolves to nothing the graph holds`);
      m.dependencies.push({ module: specifier as string, resolved, dependencyTypes: ["local", "dynamic-import"], dynamic: true } as IModule["dependencies"][number]);
    }
  }
  return graph;
}

/** Each cycle as "a.ts -> b.ts -> a.ts". */
function cycles(graph: ICruiseResult): string[] {
  return graph.summary.violations.filter((v) => v.cycle).map((v) => [v.from, ...(v.cycle ?? []).map((step) => step.name)].join(" -> "));
}

/** Each import from packages/ into functions/ as "from -> to". */
function packagesIntoFunctions(graph: ICruiseResult): string[] {
  return graph.summary.violations.filter((v) => v.rule.name === "packages-not-functions").map((v) => `${v.from} -> ${v.to}`);
}

/** Each import that breaks the named rule as "from -> to". */
function violationsOf(graph: ICruiseResult, rule: string): string[] {
  return graph.summary.violations.filter((v) => v.rule.name === rule).map((v) => `${v.from} -> ${v.to}`);
}

/** Every module `entry` reaches, each with the chain of imports that first got there. */
function reachable(graph: ICruiseResult, entry: string): Map<string, string[]> {
  const modules = new Map<string, IModule>(graph.modules.map((m) => [m.source, m]));
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const dependency of modules.get(at)?.dependencies ?? []) {
      if (seen.has(dependency.resolved)) continue;
      seen.set(dependency.resolved, [...(seen.get(at) ?? []), dependency.resolved]);
      queue.push(dependency.resolved);
    }
  }
  return seen;
}

describe("the import graph", () => {
  let graph: ICruiseResult;
  beforeAll(async () => {
    graph = await importGraph(SOURCES, ROOT);
  }, 120_000);

  it("reads the whole repository, the workspaces resolved to their sources", () => {
    const sources = graph.modules.map((m) => m.source);
    expect(sources.filter((s) => s.startsWith("packages/")).length).toBeGreaterThan(150);
    expect(sources).toEqual(expect.arrayContaining(["functions/refresh.ts", "packages/core/src/index.ts", "packages/registry/src/index.ts", "packages/targets/src/index.ts"]));
    const refresh = graph.modules.find((m) => m.source === "functions/refresh.ts");
    expect(refresh?.dependencies.find((d) => d.module === "@pullkeeper/aws/lambda/handlers/refresh")?.resolved).toBe("packages/aws/src/lambda/handlers/refresh.ts");
    const handler = graph.modules.find((m) => m.source === "packages/aws/src/lambda/handlers/refresh.ts");
    expect(handler?.dependencies.find((d) => d.module === "@pullkeeper/core")?.resolved).toBe("packages/core/src/index.ts");
  });

  it("follows a target module's lazy import of its implementation", () => {
    const chain = reachable(graph, "functions/deliver.ts").get("packages/targets/src/gitpod/gitpod-target.ts") ?? [];
    expect(chain.slice(-2)).toEqual(["packages/targets/src/gitpod/module.ts", "packages/targets/src/gitpod/gitpod-target.ts"]);
  });

  it("has no import cycle, type-only imports included", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("has nothing under packages/ importing from functions/", () => {
    expect(packagesIntoFunctions(graph)).toEqual([]);
  });

  it("keeps core free of I/O builtins and of every other workspace", () => {
    expect(violationsOf(graph, "core-no-io-builtins")).toEqual([]);
    expect(violationsOf(graph, "core-only-core")).toEqual([]);
  });

  // The registry side (verifier, htpasswd, passwords) is its own package so that these two do
  // not ship the targets' clients (Octokit, libsodium, the Kubernetes client), not even as chunks.
  it.each(["functions/refresh.ts", "functions/rotate.ts"])("%s does not import the delivery targets package", (entry) => {
    const reached = reachable(graph, entry);
    expect(reached.has("packages/registry/src/index.ts"), "reaches the registry package").toBe(true);
    const targets = [...reached].filter(([source]) => source.startsWith("packages/targets/")).map(([, chain]) => chain.join(" -> "));
    expect(targets.slice(0, 1)).toEqual([]);
  });
});

describe("the cycle check", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pullkeeper-cycle-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a cycle, also one made of type-only imports", async () => {
    writeFileSync(join(dir, "a.ts"), 'import { b } from "./b.js";\nexport const a = () => b;\n');
    writeFileSync(join(dir, "b.ts"), 'import { a } from "./a.js";\nexport const b = () => a;\n');
    writeFileSync(join(dir, "c.ts"), 'import type { D } from "./d.js";\nexport interface C { d?: D }\n');
    writeFileSync(join(dir, "d.ts"), 'import type { C } from "./c.js";\nexport interface D { c?: C }\n');
    writeFileSync(join(dir, "e.ts"), 'import { a } from "./a.js";\nexport const e = a;\n');
    const found = cycles(await importGraph(["."], dir)).map((cycle) => [...new Set(cycle.split(" -> "))].sort().join(" "));
    expect(found.sort()).toEqual(["a.ts b.ts", "c.ts d.ts"]);
  });

  it("finds an import from packages/ into functions/, also a type-only one", async () => {
    mkdirSync(join(dir, "packages/local/src"), { recursive: true });
    mkdirSync(join(dir, "functions"), { recursive: true });
    writeFileSync(join(dir, "functions/refresh.ts"), "export interface RefreshEvent { detail: object }\nexport const handler = () => 1;\n");
    writeFileSync(join(dir, "packages/local/src/runtime.ts"), 'import { handler } from "../../../functions/refresh.js";\nexport const run = handler;\n');
    writeFileSync(join(dir, "packages/local/src/types.ts"), 'import type { RefreshEvent } from "../../../functions/refresh.js";\nexport type E = RefreshEvent;\n');
    writeFileSync(join(dir, "functions/rotate.ts"), 'import { run } from "../packages/local/src/runtime.js";\nexport const handler = run;\n');
    expect(packagesIntoFunctions(await importGraph(["packages", "functions"], dir)).sort()).toEqual([
      "packages/local/src/runtime.ts -> functions/refresh.ts",
      "packages/local/src/types.ts -> functions/refresh.ts",
    ]);
  });

  it("finds core importing an I/O builtin or anything outside core, and lets it hash", async () => {
    mkdirSync(join(dir, "packages/core/src"), { recursive: true });
    mkdirSync(join(dir, "packages/api/src"), { recursive: true });
    writeFileSync(join(dir, "packages/api/src/routes.ts"), "export const status = 404;\n");
    writeFileSync(join(dir, "packages/core/src/hash.ts"), 'import { createHash } from "node:crypto";\nexport const hash = (s: string) => createHash("sha256").update(s).digest("hex");\n');
    writeFileSync(join(dir, "packages/core/src/server.ts"), 'import { createServer } from "node:http";\nimport type { Socket } from "node:net";\nexport type S = Socket;\nexport const s = createServer;\n');
    writeFileSync(join(dir, "packages/core/src/files.ts"), 'import { readFile } from "node:fs/promises";\nimport { spawn } from "child_process";\nexport const f = [readFile, spawn];\n');
    writeFileSync(join(dir, "packages/core/src/reach.ts"), 'import { status } from "../../api/src/routes.js";\nexport const r = status;\n');
    const graph = await importGraph(["packages/core", "packages/api"], dir);
    expect(violationsOf(graph, "core-no-io-builtins").sort()).toEqual([
      "packages/core/src/files.ts -> child_process",
      "packages/core/src/files.ts -> fs/promises",
      "packages/core/src/server.ts -> http",
      "packages/core/src/server.ts -> net",
    ]);
    expect(violationsOf(graph, "core-only-core")).toEqual(["packages/core/src/reach.ts -> packages/api/src/routes.ts"]);
  });
});
