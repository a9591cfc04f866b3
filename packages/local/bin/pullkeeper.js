#!/usr/bin/env node
// Runs the bundled CLI, dist/cli.js, built by `npm run build:cli` (which `npm ci` runs as `prepare`).
//
// When there is none, or a source it was built from changed since (dist/build-info.json lists them),
// it runs the sources through tsx instead, after one line on stderr that says why and how to build:
// seconds instead of a fraction of one, but never a CLI older than the code next to it. The notice
// goes to stderr so --json output stays clean. PULLKEEPER_CLI_SOURCES=1 runs the sources on purpose.
import { readFileSync, statSync } from "node:fs";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dist = new URL("../dist/", import.meta.url);

/** Undefined when dist/cli.js is there and up to date; otherwise why not. */
function staleness() {
  let info;
  try {
    info = JSON.parse(readFileSync(new URL("build-info.json", dist), "utf8"));
    statSync(new URL("cli.js", dist));
  } catch {
    return "packages/local/dist/cli.js is missing";
  }
  for (const input of info.inputs) {
    const mtime = statSync(root + input, { throwIfNoEntry: false })?.mtimeMs;
    if (mtime === undefined || mtime > info.builtAt) return `${input} changed since packages/local/dist/ was built`;
  }
  return undefined;
}

const why = process.env.PULLKEEPER_CLI_SOURCES === "1" ? "sources" : staleness();
if (why === undefined) {
  await import(new URL("cli.js", dist).href);
} else {
  if (why !== "sources") process.stderr.write(`pullkeeper: ${why}; running the sources through tsx (slow). Build with: npm run build:cli\n`);
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli.ts");
}
