import { describe, expect, it } from "vitest";
import { regionsNamed } from "../../target-modules.js";
import { ACCOUNT, secretArn } from "../shared/testing.js";
import { undeclaredSearchRegions } from "./regions.js";

describe("undeclaredSearchRegions", () => {
  it("takes the regions of secret ARNs, of declared AWS consumers and the deployment's own, each once, sorted", () => {
    const regions = undeclaredSearchRegions(
      {
        registries: [{ secret: secretArn("eu-west-1") }, { secret: "pullkeeper/ghcr" }, { secret: secretArn("eu-west-1", ACCOUNT, "pullkeeper/quay") }],
        consumers: [
          { target: { kind: "codebuild-project", project: "web-build", region: "us-east-2" } },
          { target: { kind: "codebuild-project", project: `arn:aws:codebuild:ap-south-1:${ACCOUNT}:project/api-build` } },
          { target: { kind: "ecs-task-definition", family: "web", region: "eu-central-1" } },
          { target: { kind: "ecs-task-definition", family: "worker", rollServices: [{ cluster: `arn:aws:ecs:sa-east-1:${ACCOUNT}:cluster/prod`, service: "worker" }] } },
          { target: { kind: "codespaces-secret", scope: "org", org: "acme", prefix: "DOCKER" } },
        ],
      },
      regionsNamed,
      { AWS_REGION: "eu-north-1" },
    );
    expect(regions).toEqual(["ap-south-1", "eu-central-1", "eu-north-1", "eu-west-1", "sa-east-1", "us-east-2"]);
  });

  it("falls back to AWS_DEFAULT_REGION, and adds nothing without either", () => {
    const config = { registries: [{ secret: "pullkeeper/ghcr" }], consumers: [] };
    expect(undeclaredSearchRegions(config, regionsNamed, { AWS_DEFAULT_REGION: "us-west-2" })).toEqual(["us-west-2"]);
    expect(undeclaredSearchRegions(config, regionsNamed, {})).toEqual([]);
  });
});
