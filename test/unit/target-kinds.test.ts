import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { TargetModule } from "@pullkeeper/core";
import { TARGET_MODULES } from "../../packages/aws/src/target-modules.js";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * A target kind lives in its folder: its module.ts, listed once in packages/aws/src/target-modules.ts,
 * is all the rest of the code knows of it (docs/adding-a-target.md). Every other list of kinds
 * derives from the registry, so a kind's name written anywhere else is a hand edit the next kind
 * would have to repeat. The exceptions below are the ones left; each says why.
 */
const ROOT = resolve(import.meta.dirname, "../..");

const KNOWN_EXCEPTIONS: Readonly<Record<string, readonly string[]>> = {
  // The undeclared-consumer search (AWS only) reports and matches resources of the two AWS kinds.
  "packages/core/src/environments.ts": ["codebuild-project", "ecs-task-definition"],
  "packages/aws/src/consumers/undeclared/codebuild-projects.ts": ["codebuild-project"],
  "packages/aws/src/consumers/undeclared/ecs-task-definitions.ts": ["ecs-task-definition"],
  "packages/aws/src/consumers/undeclared/finder.ts": ["codebuild-project", "ecs-task-definition"],
  // The IAM the CodeBuild and ECS targets need is still written in the stacks, not in their modules.
  "stacks/propagation-permissions.ts": ["codebuild-project", "ecs-task-definition"],
  "stacks/audit-permissions.ts": ["ecs-task-definition"],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ["node_modules", "dist", "test", "docs", "examples"].includes(entry.name) ? [] : sources(path);
    return /\.(ts|tsx|js|mjs)$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [relative(ROOT, path)] : [];
  });
}

describe("target kinds", () => {
  const files = [...sources(join(ROOT, "packages")), ...sources(join(ROOT, "stacks"))];
  /** Each kind's folder: where the module.ts that exports its descriptor lives. */
  const folders = new Map<string, string>();
  beforeAll(async () => {
    for (const file of files.filter((f) => f.endsWith("/module.ts"))) {
      const exports = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, TargetModule>;
      for (const m of Object.values(exports)) folders.set(m.kind, dirname(file));
    }
  });

  it("registers every module.ts in the registry, and nothing else", () => {
    expect([...folders.keys()].sort()).toEqual(TARGET_MODULES.map((m) => m.kind).sort());
    expect(folders.size).toBe(9);
  });

  it("names a kind only inside its own folder (and the known exceptions)", () => {
    const strays: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const [kind, folder] of folders) {
        if (file.startsWith(`${folder}/`) || KNOWN_EXCEPTIONS[file]?.includes(kind)) continue;
        if (new RegExp(`["'\`]${kind}["'\`]`).test(text)) strays.push(`${file}: ${kind}`);
      }
    }
    expect(strays).toEqual([]);
  });

  it("keeps no stale exception", () => {
    const stale = Object.entries(KNOWN_EXCEPTIONS).flatMap(([file, kinds]) =>
      kinds.filter((kind) => !new RegExp(`["'\`]${kind}["'\`]`).test(readFileSync(join(ROOT, file), "utf8"))).map((kind) => `${file}: ${kind}`),
    );
    expect(stale).toEqual([]);
  });
});
