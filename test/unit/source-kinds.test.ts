import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { SOURCE_MODULES, type SourceModule, sourceRuntime } from "@pullkeeper/core";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * A source type lives in its folder (packages/core/src/sources/<type>/): its module.ts, listed once
 * in packages/core/src/source-modules.ts, is all the rest of the code knows of it
 * (docs/adding-a-source.md). The config's union, the capabilities the services, the API and the
 * CLI branch on, and the stacks' source permissions all derive from the registry, so a type's
 * name written anywhere else is a hand edit the next source would have to repeat. No exceptions.
 */
const ROOT = resolve(import.meta.dirname, "../..");

/** Code, not its tests: *.test.ts and the test fixtures beside them (testing.ts) may name any type. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ["node_modules", "dist", "test", "docs", "examples"].includes(entry.name) ? [] : sources(path);
    return /\.(ts|tsx|js|mjs)$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) && entry.name !== "testing.ts" ? [relative(ROOT, path)] : [];
  });
}

const isSourceModule = (value: unknown): value is SourceModule =>
  typeof value === "object" && value !== null && typeof (value as SourceModule).type === "string" && typeof (value as SourceModule).capabilities === "object";

const named = (type: string) => new RegExp(`["'\`]${type}["'\`]`);

describe("source kinds", () => {
  const files = [...sources(join(ROOT, "packages")), ...sources(join(ROOT, "stacks")), ...sources(join(ROOT, "functions"))];
  /** Each type's folder: where the module.ts that exports its descriptor lives. */
  const folders = new Map<string, string>();
  beforeAll(async () => {
    for (const file of files.filter((f) => /\/sources\/[^/]+\/module\.ts$/.test(f))) {
      const exports = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, unknown>;
      for (const m of Object.values(exports).filter(isSourceModule)) folders.set(m.type, dirname(file));
    }
  });

  it("registers every sources/<type>/module.ts in the registry, and nothing else", () => {
    expect([...folders.keys()].sort()).toEqual(SOURCE_MODULES.map((m) => m.type).sort());
    expect(folders.size).toBeGreaterThan(0);
    for (const [type, folder] of folders) expect(folder.endsWith(`/sources/${type}`), `${type} lives in ${folder}`).toBe(true);
  });

  it("names a source type only inside its own folder", () => {
    const strays: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const [type, folder] of folders) {
        if (!file.startsWith(`${folder}/`) && named(type).test(text)) strays.push(`${file}: ${type}`);
      }
    }
    expect(strays).toEqual([]);
  });

  it("declares what pullkeeper does with each credential: a secret managed elsewhere is neither minted nor rotated", () => {
    for (const { type, capabilities } of SOURCE_MODULES) {
      expect(capabilities.mints || capabilities.rotates || capabilities.managedElsewhere, type).toBe(true);
      if (capabilities.managedElsewhere) expect(capabilities.mints || capabilities.rotates, type).toBe(false);
    }
  });

  it("gives every source that rotates a runtime that issues and revokes (and a rotation schedule by default), and one that mints a minter; none to the others", async () => {
    for (const module of SOURCE_MODULES) {
      const runtime = (await module.load?.())?.default;
      if (module.capabilities.rotates) {
        expect(typeof runtime?.issuer, `${module.type} issuer`).toBe("function");
        expect(typeof runtime?.revoker, `${module.type} revoker`).toBe("function");
        // RotatedSource: the rotation schedule every rotated registry has (the config's default when unset).
        const parsed = module.schema.safeParse({ type: module.type });
        if (parsed.success) expect(typeof (parsed.data as { rotation?: unknown }).rotation, module.type).toBe("string");
      } else {
        expect(runtime?.issuer, `${module.type} issues nothing`).toBeUndefined();
      }
      expect(typeof runtime?.minter === "function", `${module.type} minter`).toBe(module.capabilities.mints);
    }
  });

  it("loads a source's runtime once, and none for a source without one", async () => {
    for (const module of SOURCE_MODULES) {
      const registry = { source: { type: module.type } };
      const first = sourceRuntime(registry);
      expect(sourceRuntime({ source: { type: module.type } })).toBe(first);
      expect((await first) === undefined, module.type).toBe(module.load === undefined);
    }
    expect(await sourceRuntime({ source: { type: "no-such-source" } })).toBeUndefined();
  });

  it("finds a stray name (the check itself)", () => {
    expect(named("htpasswd").test('if (registry.source.type === "htpasswd") return;')).toBe(true);
    expect(named("htpasswd").test("new HtpasswdFile(join(dir, htpasswdName))")).toBe(false);
  });
});
