import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { deliveryTargets as runtimeTargets } from "../../packages/aws/src/lambda/propagation-runtime.js";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { validateConsumers } from "../../stacks/consumers.js";
import { TARGET_MODULES_BY_KIND } from "../../packages/aws/src/target-modules.js";
import { REPO_ROOT } from "./sst-harness";

const load = (file: string) => {
  const config = parseConfig(readFileSync(path.join(REPO_ROOT, file), "utf8"), file);
  return { config, file: path.join(REPO_ROOT, file), relativeFile: file };
};

describe("the delivery targets the stacks validate consumers with", () => {
  it("are the target modules' schemas, the very objects the functions' targets validate with", async () => {
    const runtime = await runtimeTargets();
    expect([...TARGET_MODULES_BY_KIND.keys()].sort()).toEqual([...runtime.keys()].sort());
    for (const [kind, target] of runtime) expect(TARGET_MODULES_BY_KIND.get(kind)?.schema, kind).toBe(target.schema);
    expect([...TARGET_MODULES_BY_KIND.keys()]).toEqual(expect.arrayContaining(["codebuild-project", "ecs-task-definition"]));
  });

  it("validateConsumers accepts the fixture's consumers and applies the targets' defaults", () => {
    const consumers = validateConsumers(load("test/infra/fixtures/pullkeeper.propagation.yaml"));
    expect(consumers.map((c) => c.id)).toEqual(["ghcr-builds", "gitlab-builds", "hub-release", "hub-tests", "quay-web", "quay-api"]);
    expect(consumers[0]?.target).toEqual({ kind: "codebuild-project", project: "build-images", fixWiring: false });
  });

  it("validateConsumers names every bad consumer by its path in the file, and the kinds the functions know", async () => {
    expect(() => validateConsumers(load("test/infra/fixtures/pullkeeper.invalid-consumer.yaml"))).toThrow(
      /^test\/infra\/fixtures\/pullkeeper\.invalid-consumer\.yaml is not valid:\n {2}consumers\[0\]\.target\.project: .*\n {2}consumers\[1\]\.target\.family: /,
    );
    const unknown = load("test/infra/fixtures/pullkeeper.invalid-consumer.yaml");
    const config = { ...unknown.config, consumers: [{ id: "x", registry: "hub", target: { kind: "carrier-pigeon" } }] };
    expect(() => validateConsumers({ ...unknown, config })).toThrow(`consumers[0].target.kind: unknown kind "carrier-pigeon" (known: ${[...(await runtimeTargets()).keys()].sort().join(", ")})`);
  });
});
