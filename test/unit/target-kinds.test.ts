import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { TargetModule } from "@pullkeeper/core";
import { TARGET_MODULES } from "../../packages/aws/src/target-modules.js";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * A target kind lives in its folder: its module.ts, listed once in packages/aws/src/target-modules.ts,
 * is all the rest of the code knows of it (docs/adding-a-target.md). Every other list of kinds
 * derives from the registry (the delivery worker's targets, the planners' schemas, the default
 * rate limits, the undeclared-consumer search, the stacks' IAM), so a kind's name written anywhere
 * else is a hand edit the next kind would have to repeat. No exceptions.
 */
const ROOT = resolve(import.meta.dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ["node_modules", "dist", "test", "docs", "examples"].includes(entry.name) ? [] : sources(path);
    return /\.(ts|tsx|js|mjs)$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [relative(ROOT, path)] : [];
  });
}

describe("target kinds", () => {
  const files = ["packages", "stacks", "functions", "scripts"].flatMap((dir) => sources(join(ROOT, dir)));
  /** Each kind's folder: where the module.ts that exports its descriptor lives. */
  const folders = new Map<string, string>();
  /** The kind of environment each module's discovery reports, and the folder that may name it. */
  const environmentKinds = new Map<string, string>();
  beforeAll(async () => {
    for (const file of files.filter((f) => f.endsWith("/module.ts"))) {
      const exports = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, Partial<TargetModule>>;
      // Target modules only (a registry source's module.ts describes no target kind).
      for (const m of Object.values(exports)) if (typeof m.kind === "string" && typeof m.load === "function" && m.capabilities) folders.set(m.kind, dirname(file));
      for (const m of Object.values(exports)) if (typeof m.load === "function" && m.environmentKind) environmentKinds.set(m.environmentKind, dirname(file));
    }
  });

  it("registers every module.ts in the registry, and nothing else", () => {
    expect([...folders.keys()].sort()).toEqual(TARGET_MODULES.map((m) => m.kind).sort());
    expect(folders.size).toBe(11);
  });

  it("names a kind of environment only inside the folder of the target that discovers it", () => {
    expect(environmentKinds.size).toBe(TARGET_MODULES.filter((m) => m.environmentKind).length);
    const strays = files.flatMap((file) => {
      const text = readFileSync(join(ROOT, file), "utf8");
      return [...environmentKinds].filter(([kind, folder]) => !file.startsWith(`${folder}/`) && new RegExp(`["'\`]${kind}["'\`]`).test(text)).map(([kind]) => `${file}: ${kind}`);
    });
    expect(strays).toEqual([]);
  });

  it("names a kind only inside its own folder", () => {
    const strays: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const [kind, folder] of folders) {
        if (file.startsWith(`${folder}/`)) continue;
        if (new RegExp(`["'\`]${kind}["'\`]`).test(text)) strays.push(`${file}: ${kind}`);
      }
    }
    expect(strays).toEqual([]);
  });
});
