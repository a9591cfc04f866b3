import { DescribeTasksCommand, type DescribeTasksCommandInput, ECSClient, ListClustersCommand, ListTasksCommand, type ListTasksCommandInput, type Task } from "@aws-sdk/client-ecs";
import type { MetadataBearer } from "@aws-sdk/types";
import { type Consumer, DeliveryError } from "@pullkeeper/core";
import { type AwsStub, mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { ACCOUNT, awsError, secretArn } from "../shared/testing.js";
import { fixture, isoTimestampsToWire, wireClientOptions } from "../shared/wire-testing.js";
import { EcsTaskDefinitionTarget } from "./ecs-target.js";

const VERBATIM = "aws-container-registries/ecs-describetasks.response.aws-cli-example.verbatim.json";
const ISO = "aws-container-registries/ecs-describetasks.response.cli-v2-iso-timestamps.aws-cli-example.near-verbatim.json";

interface DescribeTasksWire {
  tasks: Record<string, unknown>[];
  failures: unknown[];
}

function consumer(target: Record<string, unknown>): Consumer {
  return { id: "web", registryId: "dockerhub", target: { kind: "ecs-task-definition", ...target } };
}

/** A target whose ECS client is a real one answered over its HTTP layer. */
function wireTarget(region: string, answer: Parameters<typeof wireClientOptions>[1]) {
  const { options, calls } = wireClientOptions(region, answer);
  const ecs = new ECSClient(options);
  return { target: new EcsTaskDefinitionTarget({ ecs: () => ecs }), calls };
}

describe("EcsTaskDefinitionTarget.discoverEnvironments: the real DescribeTasks payloads, through the SDK's deserializer", () => {
  it("reads the service task of the AWS CLI example (epoch-second timestamps on the wire)", async () => {
    const described = fixture<DescribeTasksWire>(VERBATIM);
    const taskArn = described.tasks[0]?.taskArn as string;
    const { target, calls } = wireTarget("us-west-2", ({ operation }) => (operation === "ListTasks" ? { taskArns: [taskArn] } : described));

    const found = await target.discoverEnvironments(consumer({ family: "sample-fargate", region: "us-west-2", rollServices: [{ cluster: "MyCluster", service: "fargate-service" }] }));

    expect(found).toEqual([
      {
        externalId: "arn:aws:ecs:us-west-2:123456789012:task/MyCluster/1234567890123456789",
        kind: "ecs-task",
        name: "1234567890123456789",
        // "startedAt": 1557134035.379
        startedAt: new Date(1557134035379),
        status: "RUNNING",
        url: "https://us-west-2.console.aws.amazon.com/ecs/v2/clusters/MyCluster/tasks/1234567890123456789/configuration?region=us-west-2",
        detail: "service fargate-service, cluster MyCluster, revision 2",
      },
    ]);
    // The clusters come from rollServices: no ListClusters.
    expect(calls.map((c) => c.operation)).toEqual(["ListTasks", "DescribeTasks"]);
    expect(calls[0]?.input).toEqual({ cluster: "MyCluster", family: "sample-fargate", desiredStatus: "RUNNING" });
    expect(calls[1]?.input).toEqual({ cluster: "MyCluster", tasks: [taskArn] });
  });

  it("reads the standalone task of the CLI v2 example once its ISO timestamps are back in the wire's epoch form", async () => {
    const described = isoTimestampsToWire(fixture<DescribeTasksWire>(ISO)) as DescribeTasksWire;
    const taskArn = described.tasks[0]?.taskArn as string;
    const cluster = "arn:aws:ecs:us-east-1:053534965804:cluster/fargate-cluster";
    const { target, calls } = wireTarget("us-east-1", ({ operation }) => {
      if (operation === "ListClusters") return { clusterArns: [cluster] };
      if (operation === "ListTasks") return { taskArns: [taskArn] };
      return described;
    });

    const [task] = await target.discoverEnvironments(consumer({ family: "webserver", region: "us-east-1" }));

    // "startedAt": "2023-11-28T11:11:20.316000-05:00"
    expect(task?.startedAt.toISOString()).toBe("2023-11-28T16:11:20.316Z");
    expect(task).toMatchObject({
      externalId: taskArn,
      name: "c524291ae4154100b601a543108b193a",
      status: "RUNNING",
      url: "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/fargate-cluster/tasks/c524291ae4154100b601a543108b193a/configuration?region=us-east-1",
      detail: "standalone task, cluster fargate-cluster, revision 5",
    });
    // No cluster in the consumer: every cluster of the region is searched.
    expect(calls.map((c) => c.operation)).toEqual(["ListClusters", "ListTasks", "DescribeTasks"]);
    expect(calls[1]?.input).toMatchObject({ cluster, family: "webserver", desiredStatus: "RUNNING" });
  });

  it("the CLI's ISO form does not pass the SDK's deserializer as is: the conversion above is needed", async () => {
    const described = fixture<DescribeTasksWire>(ISO);
    const { target } = wireTarget("us-east-1", ({ operation }) => (operation === "ListTasks" ? { taskArns: [described.tasks[0]?.taskArn] } : described));
    await expect(target.discoverEnvironments(consumer({ family: "webserver", region: "us-east-1", rollServices: [{ cluster: "fargate-cluster", service: "x" }] }))).rejects.toThrow(
      /ecs:DescribeTasks/,
    );
  });
});

const REGION = "eu-west-1";
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`;

function taskArn(i: number, cluster = "prod"): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${i.toString(16).padStart(32, "0")}`;
}

function task(arn: string, overrides: Partial<Task> = {}): Task {
  return {
    taskArn: arn,
    clusterArn: CLUSTER,
    taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/web:7`,
    group: "service:web",
    startedBy: "ecs-svc/1234567890123456789",
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    createdAt: new Date("2026-03-02T08:00:00Z"),
    startedAt: new Date("2026-03-02T08:00:41Z"),
    launchType: "FARGATE",
    containers: [],
    ...overrides,
  };
}

let ecs: ECSClient;
let ecsMock: AwsStub<object, MetadataBearer, unknown>;
let regions: string[];

function target(registrySecret?: string): EcsTaskDefinitionTarget {
  return new EcsTaskDefinitionTarget({ ecs: (region) => (regions.push(region), ecs), ...(registrySecret !== undefined && { registrySecret: () => registrySecret }) });
}

const web = consumer({ family: "web", region: REGION, rollServices: [{ cluster: "prod", service: "web" }] });

beforeEach(() => {
  ecs = new ECSClient({ region: REGION, maxAttempts: 1 });
  ecsMock = mockClient(ecs);
  regions = [];
  ecsMock.on(DescribeTasksCommand).callsFake((input: DescribeTasksCommandInput) => ({ tasks: (input.tasks ?? []).map((arn) => task(arn)), failures: [] }));
});

describe("EcsTaskDefinitionTarget.discoverEnvironments: paging, batching, mapping", () => {
  it("follows every page of ListClusters and of ListTasks", async () => {
    ecsMock
      .on(ListClustersCommand)
      .resolvesOnce({ clusterArns: [CLUSTER], nextToken: "c2" })
      .resolvesOnce({ clusterArns: [`arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/batch`] });
    ecsMock.on(ListTasksCommand).callsFake((input: ListTasksCommandInput) => {
      const cluster = input.cluster?.endsWith("/batch") ? "batch" : "prod";
      if (cluster === "batch") return { taskArns: [taskArn(9, "batch")] };
      return input.nextToken === undefined ? { taskArns: [taskArn(1), taskArn(2)], nextToken: "t2" } : { taskArns: [taskArn(3)] };
    });

    const found = await target().discoverEnvironments(consumer({ family: "web", region: REGION }));

    expect(found.map((e) => e.externalId)).toEqual([taskArn(1), taskArn(2), taskArn(3), taskArn(9, "batch")]);
    expect(ecsMock.commandCalls(ListClustersCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, "c2"]);
    expect(ecsMock.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: CLUSTER, family: "web", desiredStatus: "RUNNING" },
      { cluster: CLUSTER, family: "web", desiredStatus: "RUNNING", nextToken: "t2" },
      { cluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/batch`, family: "web", desiredStatus: "RUNNING" },
    ]);
  });

  it("describes at most 100 tasks per DescribeTasks call", async () => {
    const arns = Array.from({ length: 250 }, (_, i) => taskArn(i));
    ecsMock.on(ListTasksCommand).resolves({ taskArns: arns });

    const found = await target().discoverEnvironments(web);

    expect(found).toHaveLength(250);
    const batches = ecsMock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks ?? []);
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(arns);
  });

  it("uses startedAt, and a task still starting its createdAt, saying so", async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [taskArn(1), taskArn(2)] });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [task(taskArn(1)), task(taskArn(2), { lastStatus: "PENDING", startedAt: undefined, group: "family:web", startedBy: "nightly-job" })],
      failures: [],
    });

    const [running, pending] = await target().discoverEnvironments(web);

    expect(running?.startedAt).toEqual(new Date("2026-03-02T08:00:41Z"));
    expect(running?.detail).toBe("service web, cluster prod, revision 7");
    expect(pending?.startedAt).toEqual(new Date("2026-03-02T08:00:00Z"));
    expect(pending?.status).toBe("PENDING");
    expect(pending?.detail).toBe("standalone task started by nightly-job, cluster prod, revision 7, not started yet: startedAt is its createdAt");
  });

  it("leaves out a task that stopped between ListTasks and DescribeTasks (MISSING), but fails on any other failure", async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [taskArn(1), taskArn(2)] });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task(taskArn(1))], failures: [{ arn: taskArn(2), reason: "MISSING" }] });
    expect((await target().discoverEnvironments(web)).map((e) => e.externalId)).toEqual([taskArn(1)]);

    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: taskArn(2), reason: "INTERNAL_ERROR", detail: "try again" }] });
    await expect(target().discoverEnvironments(web)).rejects.toMatchObject({ code: "unavailable", retryable: true, message: expect.stringContaining("INTERNAL_ERROR (try again)") });
  });

  it("looks in the region of the registry's secret when the consumer names none", async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });
    await target(secretArn("ap-southeast-2")).discoverEnvironments(consumer({ family: "web", rollServices: [{ cluster: "prod", service: "web" }] }));
    expect(regions).toEqual(["ap-southeast-2"]);
  });

  it("an AWS error surfaces classified, naming the call, the cluster and the region", async () => {
    ecsMock.on(ListTasksCommand).rejects(awsError("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/pullkeeper-audit/fn is not authorized to perform: ecs:ListTasks"));
    const error = await target()
      .discoverEnvironments(web)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ code: "access_denied", retryable: false });
    expect((error as Error).message).toMatch(/^listing running tasks of family web in ECS cluster prod \(eu-west-1, ecs:ListTasks\): AccessDeniedException/);
  });
});
