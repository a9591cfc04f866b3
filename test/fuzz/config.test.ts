import { CONSUMER_SCHEMAS } from "@pullkeeper/aws/lambda/consumer-schemas";
import { checkConfigFile, InvalidInputError } from "@pullkeeper/core";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";
import { parse, stringify } from "yaml";
import { jsonText, mutatedText, mutatedValue, nested } from "./mutate.js";
import { check, parsedOrRefused } from "./outcomes.js";
import { FUZZ_TIMEOUT_MS, fuzz } from "./settings.js";

/**
 * The config loader — the one check `pullkeeper validate`, `dev`, every function and the deploy run
 * (checkConfigFile: YAML, schema, cross-references, every consumer's target): a checked config or
 * an InvalidInputError (ConfigError, a subclass, for a document with problems), for the examples
 * broken as text and as documents, and for YAML made up from scratch.
 */

const EXAMPLES_DIR = fileURLToPath(new URL("../../examples/", import.meta.url));
/** every-target.yaml names its local servers by placeholder; any plausible value will do here. */
const PLACEHOLDERS: Record<string, string> = { REGISTRY_PORT: "5055", DOCKER_CONFIG: "/tmp/docker/config.json", KUBECONFIG: "/tmp/kubeconfig", GITHUB_URL: "http://127.0.0.1:9", GITPOD_URL: "http://127.0.0.1:9", WEBHOOK_URL: "http://127.0.0.1:9/hook", GITPOD_PROJECT_ID: "0192d7c4-0c0b-7b7a-9a6b-1c2d3e4f5a6b" };
const render = (text: string) => text.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => PLACEHOLDERS[name] ?? name);
const EXAMPLES = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith(".yaml")).sort().map((f) => render(readFileSync(`${EXAMPLES_DIR}${f}`, "utf8")));
const DOCUMENTS = EXAMPLES.map((text) => parse(text) as unknown);

function depth(value: unknown, limit = 40): number {
  if (typeof value !== "object" || value === null || limit === 0) return 0;
  return 1 + Math.max(0, ...Object.values(value).map((v) => depth(v, limit - 1)));
}

/**
 * YAML text of a value: block style when shallow; deep values as JSON, which is YAML too (flow
 * style), because yaml's stringify takes seconds per value past a few hundred levels.
 */
function yamlText(value: unknown): string {
  try {
    return depth(value) < 40 ? (stringify(value, { aliasDuplicateObjects: false }) ?? "") : jsonText(value);
  } catch {
    return jsonText(value);
  }
}

/** YAML's own ways to blow up: aliases past yaml's limit, anchors everywhere, tags, deep flow nesting, merge keys, documents. */
const yamlBombs = fc.oneof(
  fc.integer({ min: 90, max: 400 }).map((n) => `a: &x [1, 2]\nregistries: [${Array.from({ length: n }, () => "*x").join(", ")}]\n`),
  fc.integer({ min: 1, max: 8 }).map((n) => `a0: &a0 [x, x]\n${Array.from({ length: n }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}, *a${i}]`).join("\n")}\nregistries: *a${n}\n`),
  // Past ~1,000 levels yaml gives up the same way, only slower.
  fc.integer({ min: 100, max: 1_200 }).map((n) => `registries: ${"[".repeat(n)}${"]".repeat(n)}\n`),
  fc.integer({ min: 100, max: 5_000 }).map((n) => `registries:\n${Array.from({ length: n }, (_, i) => `${" ".repeat(i % 200)}- `).join("\n")}\n`),
  fc.constantFrom("registries: !!js/function 'x'\n", "registries: !!binary AAAA\n", "<<: *nope\n", "--- \n...\n---\nregistries: []\n", "%YAML 9.9\n---\n", "registries: [\u0000]\n", "\uFEFFregistries: []\n", "? [a]\n: b\n", "registries: !!set {a, b}\n", "a: !!int 0x1p99\n"),
  fc.integer({ min: 50, max: 1_200 }).map((d) => yamlText({ registries: nested(d) })),
);

/** A config file is a few KB; past 16 KB every input costs more and finds nothing the shorter ones do not. */
const MAX_TEXT = 16_000;
const configs = fc.oneof(
  { weight: 4, arbitrary: mutatedText(EXAMPLES, MAX_TEXT) },
  { weight: 3, arbitrary: mutatedValue(DOCUMENTS).map(yamlText) },
  { weight: 1, arbitrary: yamlBombs },
  { weight: 1, arbitrary: fc.oneof(fc.string({ unit: "binary" }), fc.jsonValue().map(yamlText), fc.anything({ maxDepth: 3 }).map(yamlText)) },
).map((text) => text.slice(0, MAX_TEXT));

describe("fuzz: the config loader", () => {
  it("accepts every example as it is", () => {
    for (const text of EXAMPLES) checkConfigFile(text, "example.yaml", CONSUMER_SCHEMAS);
  });

  it("yields a checked config or an InvalidInputError for broken and made-up files", () => {
    fuzz(configs, (text) => {
      const checked = parsedOrRefused(() => checkConfigFile(text, "pullkeeper.yaml", CONSUMER_SCHEMAS), InvalidInputError);
      if (checked === undefined) return;
      const { config, consumers } = checked;
      check(Array.isArray(config.registries) && config.registries.every((r) => typeof r.id === "string" && r.id !== "" && typeof r.secret === "string"), "registries have ids and secrets");
      check(new Set(config.registries.map((r) => r.id)).size === config.registries.length, "registry ids are unique");
      check(consumers.every((c) => config.registries.some((r) => r.id === c.registryId)), "every consumer names a registry of the config");
      check(!JSON.stringify(config).includes("\\u0000"), "no NUL anywhere in a config that was accepted");
    });
  }, FUZZ_TIMEOUT_MS);
});
