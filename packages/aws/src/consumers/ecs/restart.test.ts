import { DescribeTasksCommand, ECSClient, ServiceNotFoundException, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import type { MetadataBearer } from "@aws-sdk/types";
import { type Consumer, DeliveryError } from "@pullkeeper/core";
import { type AwsStub, mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { awsError } from "../shared/testing.js";
import { fixture, isoTimestampsToWire, wireClientOptions } from "../shared/wire-testing.js";
import { EcsTaskDefinitionTarget } from "./ecs-target.js";
import { RESTART_UNSUPPORTED } from "./restart.js";

const VERBATIM = "aws-container-registries/ecs-describetasks.response.aws-cli-example.verbatim.json";
const ISO = "aws-container-registries/ecs-describetasks.response.cli-v2-iso-timestamps.aws-cli-example.near-verbatim.json";

// The task of the AWS CLI example: group "service:fargate-service" in MyCluster, family sample-fargate.
const SERVICE_TASK = "arn:aws:ecs:us-west-2:123456789012:task/MyCluster/1234567890123456789";
// The task of the CLI v2 example: group "family:webserver" (started by RunTask), family webserver.
const STANDALONE_TASK = "arn:aws:ecs:us-east-1:053534965804:task/fargate-cluster/c524291ae4154100b601a543108b193a";

function consumer(family: string, region: string): Consumer {
  return { id: family, registryId: "dockerhub", restart: true, target: { kind: "ecs-task-definition", family, region } };
}

function environment(externalId: string) {
  return { externalId, kind: "ecs-task" as const, name: externalId.slice(externalId.lastIndexOf("/") + 1) };
}

describe("EcsTaskDefinitionTarget.restartEnvironment (DescribeTasks answered with the real payloads)", () => {
  it("rolls the service a task belongs to: UpdateService --force-new-deployment in the task's cluster", async () => {
    const { options, calls } = wireClientOptions("us-west-2", ({ operation, input }) =>
      operation === "DescribeTasks" ? fixture(VERBATIM) : { service: { serviceName: input.service, status: "ACTIVE", taskDefinition: "arn:aws:ecs:us-west-2:123456789012:task-definition/sample-fargate:2" } },
    );
    const ecs = new ECSClient(options);
    const target = new EcsTaskDefinitionTarget({ ecs: () => ecs });

    const outcome = await target.restartEnvironment(consumer("sample-fargate", "us-west-2"), environment(SERVICE_TASK));

    expect(outcome).toEqual({ detail: "rolled service fargate-service in MyCluster" });
    expect(calls).toEqual([
      { operation: "DescribeTasks", input: { cluster: "MyCluster", tasks: [SERVICE_TASK] } },
      { operation: "UpdateService", input: { cluster: "MyCluster", service: "fargate-service", forceNewDeployment: true } },
    ]);
  });

  it("refuses a standalone task (restart_unsupported, not retryable) and changes nothing", async () => {
    const { options, calls } = wireClientOptions("us-east-1", () => isoTimestampsToWire(fixture(ISO)));
    const ecs = new ECSClient(options);
    const target = new EcsTaskDefinitionTarget({ ecs: () => ecs });

    const error = await target.restartEnvironment(consumer("webserver", "us-east-1"), environment(STANDALONE_TASK)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ code: RESTART_UNSUPPORTED, retryable: false });
    expect((error as Error).message).toMatch(/standalone task \(group family:webserver\).*stopping it would just kill it/);
    expect(calls.map((c) => c.operation)).toEqual(["DescribeTasks"]);
  });
});

describe("EcsTaskDefinitionTarget.restartEnvironment: refusals and failures", () => {
  const REGION = "eu-west-1";
  const TASK = `arn:aws:ecs:${REGION}:123456789012:task/prod/0f3c4b5a6d7e8f90a1b2c3d4e5f60718`;
  let ecs: ECSClient;
  let ecsMock: AwsStub<object, MetadataBearer, unknown>;
  const target = () => new EcsTaskDefinitionTarget({ ecs: () => ecs });
  const task = (overrides: Record<string, unknown> = {}) => ({
    taskArn: TASK,
    clusterArn: `arn:aws:ecs:${REGION}:123456789012:cluster/prod`,
    taskDefinitionArn: `arn:aws:ecs:${REGION}:123456789012:task-definition/web:7`,
    group: "service:web",
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    ...overrides,
  });

  beforeEach(() => {
    ecs = new ECSClient({ region: REGION, maxAttempts: 1 });
    ecsMock = mockClient(ecs);
    ecsMock.on(UpdateServiceCommand).resolves({ service: { serviceName: "web" } });
  });

  it("will not roll a task of another family", async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task({ taskDefinitionArn: `arn:aws:ecs:${REGION}:123456789012:task-definition/worker:3` })], failures: [] });
    await expect(target().restartEnvironment(consumer("web", REGION), environment(TASK))).rejects.toMatchObject({ code: "invalid_request", message: expect.stringContaining("family worker") });
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it("says not_found for a task that is gone or stopping", async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: TASK, reason: "MISSING" }] });
    await expect(target().restartEnvironment(consumer("web", REGION), environment(TASK))).rejects.toMatchObject({ code: "not_found", retryable: false });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task({ desiredStatus: "STOPPED", lastStatus: "DEPROVISIONING" })], failures: [] });
    await expect(target().restartEnvironment(consumer("web", REGION), environment(TASK))).rejects.toMatchObject({ code: "not_found" });
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it("classifies a failed UpdateService, naming the call", async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task()], failures: [] });
    ecsMock.on(UpdateServiceCommand).rejectsOnce(new ServiceNotFoundException({ message: "Service not found.", $metadata: {} }));
    await expect(target().restartEnvironment(consumer("web", REGION), environment(TASK))).rejects.toMatchObject({ code: "not_found", retryable: false });
    ecsMock.on(UpdateServiceCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    await expect(target().restartEnvironment(consumer("web", REGION), environment(TASK))).rejects.toMatchObject({ code: "throttled", retryable: true, message: expect.stringContaining("ecs:UpdateService") });
  });

  it("rejects an environment that is not an ECS task", async () => {
    await expect(target().restartEnvironment(consumer("web", REGION), { externalId: "web-build:1", kind: "codebuild-build", name: "web-build:1" })).rejects.toMatchObject({ code: "invalid_request" });
  });
});
