import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateConfig } from "../../packages/core/src/config/config-document.js";
import { loadDeployConfig, shippedConfig } from "../../stacks/config.js";
import { REPO_ROOT } from "./sst-harness.js";

const FIXTURE = "test/infra/fixtures/pullkeeper.deploy.yaml";

describe("shippedConfig: the config as the deploy ships it to the functions", () => {
  it("is the checked YAML's document as JSON, validating to the very config the deploy checked, named by its content", () => {
    const deploy = loadDeployConfig({ PULLKEEPER_CONFIG: FIXTURE }, REPO_ROOT);
    const { name, json } = shippedConfig(deploy);
    expect(JSON.parse(json)).toEqual(parse(readFileSync(path.join(REPO_ROOT, FIXTURE), "utf8")));
    expect(validateConfig(JSON.parse(json))).toEqual(deploy.config);
    expect(name).toMatch(/^pullkeeper-[0-9a-f]{16}\.json$/);
    expect(shippedConfig(deploy).name).toBe(name);
    // A document that is not the checked one is refused too: the JSON must be what was checked.
    const other = { ...deploy, document: { ...(deploy.document as object), registries: [] } };
    expect(() => shippedConfig(other)).toThrow(/does not survive as JSON/);
  });

  it("fails the deploy when a value does not survive JSON, rather than a function later", () => {
    const deploy = loadDeployConfig({ PULLKEEPER_CONFIG: FIXTURE }, REPO_ROOT);
    const document = deploy.document as { settings?: Record<string, unknown> };
    const withInfinity = { ...deploy, document: { ...document, settings: { ...document.settings, maxJitter: Number.POSITIVE_INFINITY } } };
    expect(() => shippedConfig(withInfinity)).toThrow(`${FIXTURE}: a value in it does not survive as JSON`);
  });
});
