import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { deliveryTargets as runtimeTargets } from "../../packages/aws/src/lambda/propagation-runtime.js";
import { parseConfig } from "../../packages/core/src/config.js";
import { validateConsumers } from "../../stacks/consumers.js";
import { deliveryTargets } from "../../stacks/delivery-targets.js";
import { REPO_ROOT } from "./sst-harness";

/**
 * stacks/delivery-targets.js hands the runtime's deliveryTargets to the stacks behind a
 * declaration (see its comment). The repo-wide typecheck compiles this file: the assignment
 * below fails it if the runtime's function no longer fits the declaration.
 */
const declared: typeof deliveryTargets = runtimeTargets;

const load = (file: string) => {
  const config = parseConfig(readFileSync(path.join(REPO_ROOT, file), "utf8"), file);
  return { config, file: path.join(REPO_ROOT, file), relativeFile: file };
};

describe("the delivery targets the stacks validate consumers with", () => {
  it("are the functions' own (the same function object, not a copy)", () => {
    expect(deliveryTargets).toBe(runtimeTargets);
    expect(declared).toBe(runtimeTargets);
    expect([...deliveryTargets().keys()]).toEqual(expect.arrayContaining(["codebuild-project", "ecs-task-definition"]));
  });

  it("validateConsumers accepts the fixture's consumers and applies the targets' defaults", () => {
    const consumers = validateConsumers(load("test/infra/fixtures/pullkeeper.propagation.yaml"));
    expect(consumers.map((c) => c.id)).toEqual(["ghcr-builds", "gitlab-builds", "hub-release", "hub-tests", "quay-web", "quay-api"]);
    expect(consumers[0]?.target).toEqual({ kind: "codebuild-project", project: "build-images", fixWiring: false });
  });

  it("validateConsumers names every bad consumer by its path in the file, and the kinds the functions know", () => {
    expect(() => validateConsumers(load("test/infra/fixtures/pullkeeper.invalid-consumer.yaml"))).toThrow(
      /^test\/infra\/fixtures\/pullkeeper\.invalid-consumer\.yaml is not valid:\n {2}consumers\[0\]\.target\.project: .*\n {2}consumers\[1\]\.target\.family: /,
    );
    const unknown = load("test/infra/fixtures/pullkeeper.invalid-consumer.yaml");
    const config = { ...unknown.config, consumers: [{ id: "x", registry: "hub", target: { kind: "carrier-pigeon" } }] };
    expect(() => validateConsumers({ ...unknown, config })).toThrow(`consumers[0].target.kind: unknown kind "carrier-pigeon" (known: ${[...runtimeTargets().keys()].sort().join(", ")})`);
  });
});
