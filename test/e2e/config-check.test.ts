import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AWS_SDK_VERSION } from "../../packages/core/src/config/aws-regions.generated.js";
import { InvalidInputError } from "../../packages/core/src/model/errors.js";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { loadDeployConfig } from "../../stacks/config.js";
import { validateConsumers } from "../../stacks/consumers.js";

/**
 * One check of pullkeeper.yaml: `pullkeeper validate`, `pullkeeper dev` (EmbeddedRuntime.start)
 * and the deploy (loadDeployConfig + validateConsumers) refuse the same file with the same
 * issues, each at its line and column with the nearest known word. Before, `validate` passed all
 * three of these files, `dev` refused only the first, and the region passed everywhere.
 */

const BIN = resolve(import.meta.dirname, "../../packages/local/bin/pullkeeper.js");
const FILE = "pullkeeper.yaml";
const root = mkdtempSync(join(tmpdir(), "pullkeeper-config-check-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const registry = (region = "eu-west-1") => `registries:
  - id: prod
    host: 123456789012.dkr.ecr.${region}.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "123456789012", region: ${region} }
    secret: pullkeeper/prod
`;
const consumer = (keys: string) => `consumers:
  - id: laptop
    registry: prod
${keys}`;

const CASES: [string, string, string[]][] = [
  [
    "a docker-config target with pth: instead of path:",
    registry() + consumer("    target:\n      kind: docker-config\n      pth: /home/me/.docker/config.json\n"),
    ['pullkeeper.yaml:12:7 consumers[0].target.pth: unknown key "pth" (did you mean "path"?)'],
  ],
  [
    "a consumer key restrat: true",
    registry() + consumer("    restrat: true\n    target: { kind: docker-config, path: /home/me/.docker/config.json }\n"),
    ['pullkeeper.yaml:10:5 consumers[0].restrat: unknown key "restrat" (did you mean "restart"?)'],
  ],
  [
    "a region eu-westt-1",
    registry("eu-westt-1") + consumer("    target: { kind: docker-config, path: /home/me/.docker/config.json }\n"),
    [
      `pullkeeper.yaml:5:65 registries[0].source.region: unknown AWS region "eu-westt-1" (did you mean "eu-west-1"?): not a region of AWS SDK ${AWS_SDK_VERSION} (a region opened since needs a newer SDK: update @aws-sdk/* and run npx tsx scripts/generate-aws-regions.ts)`,
    ],
  ],
  [
    "a target kind docker-confg",
    registry() + consumer("    target: { kind: docker-confg, path: /home/me/.docker/config.json }\n"),
    [expect.stringMatching(/^pullkeeper\.yaml:10:21 consumers\[0\]\.target\.kind: unknown kind "docker-confg" \(did you mean "docker-config"\?\) \(known: .*docker-config/) as unknown as string],
  ],
  [
    // Checked ahead of time (scheduleIssues), not at the parse every Lambda makes at cold start.
    "a monthly cron rotation for tokens that live 30 days",
    `registries:
  - id: hub
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: dockerhub-token, admin: pullkeeper/hub-admin, lifetime: 30d, rotation: cron(0 3 1 * ? *) }
    secret: pullkeeper/hub
`,
    ["pullkeeper.yaml:5:77 registries[0].source.lifetime: expected at least twice the longest gap between the rotation's runs (744 h) (cron(0 3 1 * ? *)), so a credential is replaced by half its life and outlives the overlap before its revocation"],
  ],
];

/** The issues each caller refuses the file with. */
const callers: Record<string, () => Promise<readonly string[]>> = {
  "pullkeeper validate": async () => {
    const run = spawnSync(process.execPath, [BIN, "validate", FILE, "--json"], { cwd: root, encoding: "utf8", env: { ...process.env, PULLKEEPER_CLI_SOURCES: "1" }, timeout: 60_000 });
    expect(run.status, run.stderr).toBe(1);
    const out = JSON.parse(run.stdout) as { valid: boolean; issues: string[]; located: { line: number; column: number }[] };
    expect(out.valid).toBe(false);
    expect(out.located.map((l) => `${FILE}:${l.line}:${l.column}`)).toEqual(out.issues.map((i) => i.split(" ")[0]));
    return out.issues;
  },
  "pullkeeper dev (EmbeddedRuntime.start)": async () => {
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const started = await EmbeddedRuntime.start({ configPath: FILE, stateDir: join(root, ".pullkeeper"), port: 0, log: () => {} }).then(
        async (runtime) => {
          await runtime.stop();
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(started).toBeInstanceOf(InvalidInputError);
      // Refused before anything is created.
      expect(existsSync(join(root, ".pullkeeper"))).toBe(false);
      return (started as InvalidInputError).issues;
    } finally {
      process.chdir(cwd);
    }
  },
  "the deploy (loadDeployConfig, validateConsumers)": async () => {
    try {
      validateConsumers(loadDeployConfig({ PULLKEEPER_CONFIG: FILE }, root));
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      return (error as InvalidInputError).issues;
    }
    throw new Error("expected the deploy to refuse the config");
  },
};

describe.each(CASES)("%s", (_name, text, expected) => {
  it.each(Object.keys(callers))("is refused by %s, with its line, column and nearest known word", async (caller) => {
    writeFileSync(join(root, FILE), text);
    expect(await callers[caller]?.()).toEqual(expected);
  });
});

describe("a valid file", () => {
  it("passes validate and the deploy's check alike", async () => {
    writeFileSync(join(root, FILE), registry() + consumer("    restart: true\n    target: { kind: docker-config, path: /home/me/.docker/config.json }\n"));
    const run = spawnSync(process.execPath, [BIN, "validate", FILE], { cwd: root, encoding: "utf8", env: { ...process.env, PULLKEEPER_CLI_SOURCES: "1" }, timeout: 60_000 });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(validateConsumers(loadDeployConfig({ PULLKEEPER_CONFIG: FILE }, root)).map((c) => [c.id, c.restart])).toEqual([["laptop", true]]);
  });
});
