import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/**
 * The README is the first hour of a new user: a manual, short enough to read (150 lines), and
 * every relative link in it and in docs/ leads somewhere. Links inside code are not links. Every
 * dependency is listed with why (docs/dependencies.md).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const README_MAX_LINES = 150;

/** Markdown link and image targets of a document, without fenced code blocks and inline code. */
function linkTargets(markdown: string): string[] {
  const prose = markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "")
    .replace(/`+[^`\n]*`+/g, "");
  const targets: string[] = [];
  for (const match of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1] as string);
  for (const match of prose.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)) targets.push(match[1] as string);
  for (const match of prose.matchAll(/<img\s[^>]*src="([^"]+)"/g)) targets.push(match[1] as string);
  return targets;
}

/** The relative links of `file` whose target does not exist, as "file: target". */
function deadLinks(file: string): string[] {
  const dead: string[] = [];
  for (const target of linkTargets(readFileSync(file, "utf8"))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#") || target.startsWith("//")) continue;
    const path = decodeURIComponent(target.split("#")[0]?.split("?")[0] ?? "");
    if (!existsSync(resolve(dirname(file), path))) dead.push(`${relative(ROOT, file)}: ${target}`);
  }
  return dead;
}

const documents = [join(ROOT, "README.md"), ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join(ROOT, "docs", f))];

describe("the README and docs/", () => {
  it(`keeps the README to at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(ROOT, "README.md"), "utf8").trimEnd().split("\n").length;
    expect(lines, "move the detail to docs/ and link it").toBeLessThanOrEqual(README_MAX_LINES);
  });

  it("has no dead relative link", () => {
    expect(documents.flatMap(deadLinks)).toEqual([]);
  });

  it("keeps the test command CI runs", () => {
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain("npm ci && npm test");
  });

  it("says why for every dependency of every package.json", () => {
    const manifests = ["package.json", ...readdirSync(join(ROOT, "packages")).map((p) => join("packages", p, "package.json"))].filter((f) => existsSync(join(ROOT, f)));
    const listed = readFileSync(join(ROOT, "docs/dependencies.md"), "utf8");
    const missing = manifests.flatMap((file) => {
      const manifest = JSON.parse(readFileSync(join(ROOT, file), "utf8")) as Record<string, Record<string, string> | undefined>;
      const names = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies });
      return names.filter((name) => !name.startsWith("@pullkeeper/") && !listed.includes(`\`${name}\``)).map((name) => `${file}: ${name}`);
    });
    expect(missing, "add each, with why, to docs/dependencies.md").toEqual([]);
  });
});

describe("the link check", () => {
  const dir = mkdtempSync(join(tmpdir(), "pullkeeper-links-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds links and images, and skips code", () => {
    const text = [
      "See [ops](docs/operations.md#alarms) and ![shot](docs/dashboard.png).",
      "Inline `[not](a-link.md)` code.",
      "```md",
      "[also not](fenced.md)",
      "```",
      "[ref]: docs/ref.md",
      '<img src="img/logo.png" alt="">',
    ].join("\n");
    expect(linkTargets(text)).toEqual(["docs/operations.md#alarms", "docs/dashboard.png", "docs/ref.md", "img/logo.png"]);
  });

  it("reports a relative link to a missing file, not one to an existing file or a URL", () => {
    writeFileSync(join(dir, "there.md"), "# there\n");
    const file = join(dir, "doc.md");
    writeFileSync(file, "[ok](there.md#there) [web](https://example.com/x.md) [top](#top) [gone](missing.md)\n");
    expect(deadLinks(file).map((d) => d.split(": ")[1])).toEqual(["missing.md"]);
  });
});
