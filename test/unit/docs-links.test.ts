import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { buildCli } from "../../packages/local/src/cli/main.js";

/**
 * The README is the first hour of a new user: a manual, short enough to read (150 lines), and
 * every relative link in it and in docs/ leads somewhere (links inside code are not links), every
 * `pullkeeper …` command and option they show exists, and every dependency is listed with why
 * (docs/dependencies.md).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const README_MAX_LINES = 150;

/** A document's fenced code blocks (with their language) and the prose around them. */
function splitFences(markdown: string): { prose: string; blocks: { lang: string; text: string }[] } {
  const prose: string[] = [];
  const blocks: { lang: string; text: string }[] = [];
  let open: { fence: string; lang: string; lines: string[] } | undefined;
  for (const line of markdown.split("\n")) {
    const fence = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (open === undefined && fence) open = { fence: fence[1] as string, lang: fence[2] as string, lines: [] };
    else if (open !== undefined && fence && (fence[1] as string).startsWith(open.fence) && fence[2] === "") {
      blocks.push({ lang: open.lang, text: open.lines.join("\n") });
      open = undefined;
    } else if (open !== undefined) open.lines.push(line);
    else prose.push(line);
  }
  return { prose: prose.join("\n"), blocks };
}

/** Markdown link and image targets of a document, without fenced code blocks and inline code. */
function linkTargets(markdown: string): string[] {
  const prose = splitFences(markdown).prose.replace(/`+[^`\n]*`+/g, "");
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

const INVOCATION = /(?:^|\|\s*|&&\s*|;\s*|\$\(\s*|\$\s+)(?:npx\s+|npm run (?:-s )?)?pullkeeper(?: --)?((?: [a-z][a-z-]*)+)([^\n|;&)#]*)/g;

/**
 * `pullkeeper <command> [<subcommand>] … --option` as the docs write it: inline code that starts
 * with it, and shell code blocks (comments dropped), at a line's start or after a pipe or `&&`.
 */
function cliMentions(markdown: string): { words: string[]; options: string[]; text: string }[] {
  const { prose, blocks } = splitFences(markdown);
  const shell = blocks
    .filter((b) => ["sh", "bash", "shell", "console"].includes(b.lang) || (b.lang === "" && !/^\s*[\w-]+:/m.test(b.text)))
    .flatMap((b) => b.text.split("\n").map((line) => line.replace(/(?:^|\s)#\s.*$/, "")));
  const inline = [...prose.matchAll(/`([^`\n]+)`/g)]
    .map((m) => m[1] as string)
    .filter((code) => /(?:^|\|\s*)(?:npx\s+|npm run (?:-s )?)?pullkeeper /.test(code));
  return [...shell, ...inline].flatMap((code) =>
    [...code.matchAll(INVOCATION)].map((m) => ({
      words: (m[1] as string).trim().split(" "),
      options: [...((m[1] as string) + (m[2] as string)).matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)].map((o) => o[1] as string),
      text: m[0].trim(),
    })),
  );
}

/** What is wrong with one mention: an unknown command, or an option neither it nor the program has. */
function cliProblem(program: Command, mention: { words: string[]; options: string[] }): string | undefined {
  let command = program;
  for (const word of mention.words) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    command = sub;
  }
  if (command === program) return `no command "${mention.words[0]}"`;
  const known = new Set([...command.options, ...program.options].map((o) => o.long).concat("--help"));
  const unknown = mention.options.filter((o) => !known.has(o));
  return unknown.length > 0 ? `${command.name()} has no ${unknown.join(", ")}` : undefined;
}

describe("the CLI as the docs write it", () => {
  it("names only commands and options the CLI has", () => {
    const program = buildCli();
    const problems = documents.flatMap((file) =>
      cliMentions(readFileSync(file, "utf8")).flatMap((mention) => {
        const problem = cliProblem(program, mention);
        return problem === undefined ? [] : [`${relative(ROOT, file)}: ${mention.text}: ${problem}`];
      }),
    );
    expect(problems).toEqual([]);
    // Not vacuous: the README's tour is made of commands.
    expect(cliMentions(readFileSync(join(ROOT, "README.md"), "utf8")).map((m) => m.words[0])).toEqual(expect.arrayContaining(["dev", "validate", "secret", "refresh", "status", "consumers", "propagate", "versions", "audit", "history"]));
  });

  it("catches a command or an option that does not exist", () => {
    const program = buildCli();
    const mentions = cliMentions("Run `pullkeeper rotate-now` or\n```sh\nnpm run pullkeeper -- refresh --registry x --now\n```\nand `npx pullkeeper audit --scan`.");
    expect(mentions.map((m) => cliProblem(program, m)).sort()).toEqual(['no command "rotate-now"', "refresh has no --now", undefined].sort());
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
