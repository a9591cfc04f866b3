import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../packages/core/src/model/errors.js";
import { loadDeployConfig } from "../../stacks/config.js";
import { awsReachabilityIssues, isLoopback, rotationPlan } from "../../stacks/rotation-permissions.js";
import { REPO_ROOT } from "./sst-harness";

/**
 * The deploy refuses registries that cannot run on AWS (stacks/index.ts runs rotationPlan before
 * declaring anything): the functions would verify and rotate them at every run, and fail, on a
 * machine nobody watches. pullkeeper dev runs the same file.
 */
const UNREACHABLE = "test/infra/fixtures/pullkeeper.aws-unreachable.yaml";

function refusal(file: string): readonly string[] {
  const { config, relativeFile, text } = loadDeployConfig({ PULLKEEPER_CONFIG: file }, REPO_ROOT);
  try {
    rotationPlan(config, relativeFile, text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message.startsWith(`${file} is not valid:\n  `)).toBe(true);
    return (error as InvalidInputError).issues;
  }
  throw new Error("expected the deploy to refuse the config");
}

describe("registries that cannot run on AWS", () => {
  it("are refused, each named with why, at its line and column", () => {
    expect(refusal(UNREACHABLE)).toEqual([
      `${UNREACHABLE}:8:106 registries[0].source.serve: registry "local" is served by the embedded runtime (pullkeeper dev) on 127.0.0.1:5055, which nothing on AWS can reach; deploy a config without it (PULLKEEPER_CONFIG names the file to deploy)`,
      `${UNREACHABLE}:11:11 registries[1].host: registry "lab" is at localhost:5000, the loopback: on AWS that is the function's own sandbox, where no registry listens; name a host the functions reach`,
      `${UNREACHABLE}:27:25 registries[2].verify.endpoint: registry "hub" is verified at http://[::1]:5000, the loopback: on AWS no registry listens there; name an endpoint the functions reach, or leave it out to use the host`,
    ]);
  });

  it("include the repo's own pullkeeper.yaml (its registry is the embedded runtime's)", () => {
    expect(refusal("pullkeeper.yaml")).toEqual([expect.stringMatching(/^pullkeeper\.yaml:\d+:\d+ registries\[0\]\.source\.serve: registry "local" is served by the embedded runtime/)]);
    // Without the text (a config built in code), by path alone.
    expect(() => rotationPlan(loadDeployConfig({}, REPO_ROOT).config)).toThrow(/^pullkeeper\.yaml is not valid:\n {2}registries\[0\]\.source\.serve: /);
  });

  it("the loopback is localhost, 127.0.0.0/8 and ::1, with or without a port", () => {
    for (const host of ["localhost", "LOCALHOST:5000", "127.0.0.1", "127.1.2.3:443", "::1", "[::1]", "[::1]:5000"]) expect(isLoopback(host), host).toBe(true);
    for (const host of ["registry-1.docker.io", "localhost.example.com", "10.0.0.1:5000", "128.0.0.1", "ghcr.io"]) expect(isLoopback(host), host).toBe(false);
  });

  it("a registry the functions reach passes", () => {
    const { config } = loadDeployConfig({ PULLKEEPER_CONFIG: "test/infra/fixtures/pullkeeper.deploy.yaml" }, REPO_ROOT);
    expect(awsReachabilityIssues(config)).toEqual([]);
    expect(rotationPlan(config)).toBeUndefined();
  });
});
