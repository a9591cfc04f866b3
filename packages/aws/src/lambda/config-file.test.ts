import { InvalidInputError } from "@pullkeeper/core";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readConfigFile } from "./config-file.js";

const dir = mkdtempSync(join(tmpdir(), "pullkeeper-config-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const document = {
  registries: [{ id: "prod-ecr", host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", kind: "ecr", source: { type: "ecr-token", account: "123456789012", region: "eu-west-1" }, secret: "pullkeeper/prod-ecr" }],
};

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("readConfigFile: the config as the deploy ships it to a function", () => {
  it("reads the checked document as JSON, with the schema's defaults", () => {
    const config = readConfigFile(file("pullkeeper.json", JSON.stringify(document)));
    expect(config.registries.map((r) => r.id)).toEqual(["prod-ecr"]);
    expect(config.settings.refreshSchedule).toMatch(/^rate\(/);
  });

  it("refuses a document that is not valid, naming the path in it", () => {
    const bad = { registries: [{ ...document.registries[0], source: { type: "ecr-token", account: "12345", region: "eu-west-1" } }] };
    expect(() => readConfigFile(file("bad.json", JSON.stringify(bad)))).toThrow(/registries\[0\]\.source\.account: expected a 12-digit AWS account ID/);
  });

  it("refuses the YAML itself with what to ship instead, without echoing the file", () => {
    const path = file("pullkeeper.yaml", "registries:\n  - id: prod-ecr # secret: s3cr3t-value\n");
    const read = () => readConfigFile(path);
    expect(read).toThrow(InvalidInputError);
    expect(read).toThrow(/pullkeeper\.yaml is not JSON: a function reads the config as the deploy ships it \(pullkeeper\.json/);
    expect(() => read()).not.toThrow(/s3cr3t/);
  });

  it("names a file it cannot read", () => {
    expect(() => readConfigFile(join(dir, "missing.json"))).toThrow(/cannot read the config file .*missing\.json: ENOENT/);
  });
});
