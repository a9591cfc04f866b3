import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { consumersFromConfig } from "../../packages/core/src/model/consumers.js";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { buildReference, DESCRIPTIONS_PATH, EXAMPLE_CONFIG, readDescriptions, REFERENCE_PATH } from "../../scripts/config-reference.js";
import { deliveryTargets } from "../../packages/aws/src/lambda/propagation-runtime.js";

/**
 * docs/configuration.md is generated from the schemas (scripts/config-reference.ts). These fail
 * when the committed page is stale, and when a key of the schemas has no description — so a new
 * setting, or a new field of a consumer kind, cannot ship without its documentation.
 */
describe("the configuration reference", () => {
  const reference = buildReference();

  it("has a description for every key of the config and of every consumer target kind", () => {
    expect(reference.missing, `add these to ${DESCRIPTIONS_PATH}, then run npm run docs:config`).toEqual([]);
  });

  it("has no description for a key the schemas no longer have", () => {
    expect(reference.unused, `remove or rename these in ${DESCRIPTIONS_PATH}`).toEqual([]);
  });

  it("is committed as generated", () => {
    const committed = readFileSync(REFERENCE_PATH, "utf8");
    expect(committed === reference.markdown, "docs/configuration.md is stale: run npm run docs:config and commit it").toBe(true);
  });

  it("lists the keys that were missing from the hand-written reference", async () => {
    const row = (key: string) => reference.markdown.split("\n").find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row("consumers[].restart")).toContain("boolean");
    expect(row("settings.auditSchedule")).toContain("default `rate(15 minutes)`");
    expect(row("settings.clockSkew")).toContain("default `5s`");
    expect(row("registries[].revoke.after")).toContain("default `1d`");
    // Codespaces user secrets take numeric repository IDs, under their own form's table.
    const userForm = reference.markdown.split("`kind: codespaces-secret` with `scope: user`")[1]?.split("\n#")[0] ?? "";
    expect(userForm).toMatch(/\| `consumers\[\]\.target\.selectedRepositoryIds` \| list of integer \| required \|/);
    const orgForm = reference.markdown.split("`kind: codespaces-secret` with `scope: organization`")[1]?.split("\n#")[0] ?? "";
    expect(orgForm).toMatch(/\| `consumers\[\]\.target\.visibility` \| string \| required \| one of `all`, `private`, `selected`/);
    for (const kind of (await deliveryTargets()).keys()) expect(reference.markdown).toContain(`### \`kind: ${kind}\``);
  });

  it("reports a key without a description, in the config and in a target kind", () => {
    const descriptions = readDescriptions();
    const { "settings.clockSkew": _dropped, ...config } = descriptions.config;
    const targets = new Map([["carrier-pigeon", { schema: z.strictObject({ kind: z.literal("carrier-pigeon"), loft: z.string(), kind2: z.number().optional() }) }]]);
    const result = buildReference({ descriptions: { config, targets: { ...descriptions.targets, "carrier-pigeon.loft": "Where the pigeon lives." } }, targets });
    expect(result.missing).toEqual(["config: settings.clockSkew", "targets: carrier-pigeon.kind2"]);
    // The other kinds' descriptions are now unused: a removed key is reported too.
    expect(result.unused).toContain("targets: codebuild-project.project");
  });

  it("renders shapes the current schemas do not use yet: intersections, dates, records of objects", () => {
    const schema = z.intersection(
      z.strictObject({ kind: z.literal("mixed"), when: z.date().optional() }),
      z.strictObject({ hooks: z.record(z.string(), z.strictObject({ url: z.url() })).default({}), every: z.string().transform(Number).default(60 as never) }),
    );
    const result = buildReference({ descriptions: { config: readDescriptions().config, targets: {} }, targets: new Map([["mixed", { schema: schema as never }]]) });
    expect(result.missing).toEqual(["targets: mixed.kind", "targets: mixed.when", "targets: mixed.hooks", "targets: mixed.every"]);
    expect(result.markdown).toContain("| `consumers[].target.hooks` | map of string to object | optional |");
    expect(result.markdown).toContain("| `consumers[].target.every` | string | default `60` |");
  });

  it("opens with an example that the real schemas accept", async () => {
    const config = parseConfig(EXAMPLE_CONFIG, "example");
    const targets = await deliveryTargets();
    expect(() => consumersFromConfig(config, targets, "example")).not.toThrow();
    expect(reference.markdown).toContain(EXAMPLE_CONFIG);
  });
});
