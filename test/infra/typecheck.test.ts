import { spawnSync } from "node:child_process";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureSstPlatform, REPO_ROOT } from "./sst-harness";

/**
 * sst.config.ts and stacks/ only type-check against the types `sst install` generates
 * (.sst/platform/config.d.ts: the `sst`, `aws`, `$app`... globals and the component sources).
 * The repo-wide `tsc -p tsconfig.json` cannot see them, so this suite is what catches a wrong
 * component argument (say `runtime: "nodejs99.x"`) before `sst deploy` does.
 */
function tsc(...args: string[]) {
  const result = spawnSync("npx", ["tsc", "-p", "tsconfig.stacks.json", ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 5 * 60_000 });
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}`.replace(/^npm warn .*\n/gm, "") };
}

describe("sst.config.ts and stacks/ against SST's generated types", () => {
  beforeAll(() => {
    ensureSstPlatform();
  }, 10 * 60_000);

  it("compiles the config, the stacks and the SST platform types together", () => {
    const { status, output } = tsc("--listFilesOnly");
    expect(status, output).toBe(0);
    const files = output.split("\n").map((f) => path.relative(REPO_ROOT, f.trim()));
    // Not vacuous: the program really holds our files and SST's declarations of the components we use.
    expect(files).toEqual(
      expect.arrayContaining([
        "sst.config.ts",
        "stacks/index.ts",
        "stacks/config.ts",
        "stacks/storage.ts",
        "stacks/refresh.ts",
        "stacks/lambda.ts",
        "stacks/consumers.ts",
        "stacks/propagation.ts",
        "stacks/propagation-config.ts",
        "stacks/propagation-permissions.ts",
        ".sst/platform/config.d.ts",
        ".sst/platform/src/global.d.ts",
        ".sst/platform/src/components/aws/function.ts",
        ".sst/platform/src/components/aws/cron-v2.ts",
        ".sst/platform/src/components/aws/dynamo.ts",
        ".sst/platform/src/components/aws/queue.ts",
      ]),
    );
    // The functions' runtime stays out of the stacks: its dependency graph does not compile
    // against SST's Node.js types. The stacks read the target modules' descriptors and schemas
    // (packages/aws/src/target-modules.ts), which are light and do.
    const light = /^packages\/(targets\/src|aws\/src\/consumers)\/[^/]+\/(module|schema)\.ts$/;
    expect(files.filter((f) => (f.startsWith("packages/aws/src/lambda/") || f.startsWith("packages/targets/")) && !light.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(["packages/aws/src/target-modules.ts", "packages/targets/src/github/module.ts"]));
  }, 5 * 60_000);

  it("type-checks with no errors (tsc -p tsconfig.stacks.json --noEmit)", () => {
    const { status, output } = tsc("--noEmit");
    if (status !== 0) console.error(output);
    expect(output.trim(), "tsc output").toBe("");
    expect(status).toBe(0);
  }, 5 * 60_000);
});
