import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * A clone of this repository alone must test itself: no code, script or config may read the
 * `../shared` folder that sits next to it on developers' machines (copy what is needed into the
 * repository, as test/fixtures/shared is, with its origin).
 */
const ROOT = resolve(import.meta.dirname, "../..");
const CODE = /\.(?:[cm]?[jt]s|json|ya?ml|sh|md)$|^\.ci\/run$/;
/** A relative path up to a `shared` folder, with what follows it. */
const UP_TO_SHARED = /(?:\.\.\/)+shared\b[\w./-]*/g;

/** Outside the repository, or to nothing in it (the sibling folder's layout, seen from a nested file). */
function readsOutside(file: string, line: string): boolean {
  if (/\/work\/shared\b/.test(line)) return true;
  return [...line.matchAll(UP_TO_SHARED)].some((m) => {
    const target = resolve(ROOT, dirname(file), m[0].replace(/[.:]+$/, ""));
    // Imports name a module's .js, which is its .ts source here.
    return !target.startsWith(`${ROOT}/`) || !(existsSync(target) || existsSync(target.replace(/\.js$/, ".ts")));
  });
}

describe("the repository is self-contained", () => {
  it("has no code, script, config or doc that points at ../shared", () => {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
      .split("\n")
      .filter((f) => CODE.test(f) && !f.startsWith("test/fixtures/shared/") && f !== "test/unit/self-contained.test.ts");
    expect(files.length).toBeGreaterThan(100);
    const offenders = files.flatMap((f) =>
      readFileSync(join(ROOT, f), "utf8")
        .split("\n")
        .map((line, i) => (readsOutside(f, line) ? `${f}:${i + 1}: ${line.trim()}` : undefined))
        .filter((x): x is string => x !== undefined),
    );
    expect(offenders).toEqual([]);
  });
});
