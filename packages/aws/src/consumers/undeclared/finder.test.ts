import { BatchGetProjectsCommand, type BatchGetProjectsCommandInput, CodeBuildClient, ListProjectsCommand, type Project } from "@aws-sdk/client-codebuild";
import {
  ClientException,
  type ContainerDefinition,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandInput,
  ECSClient,
  ListTaskDefinitionFamiliesCommand,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import type { MetadataBearer } from "@aws-sdk/types";
import { type Consumer, DeliveryError, type TrackedSecret, type UndeclaredConsumer } from "@pullkeeper/core";
import { type AwsStub, mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { ACCOUNT, awsError, OTHER_ACCOUNT, PASSWORD, secretArn } from "../shared/testing.js";
import { createUndeclaredSearch as createCodeBuildSearch } from "../codebuild/undeclared.js";
import { createUndeclaredSearch as createEcsSearch } from "../ecs/undeclared.js";
import { UndeclaredConsumerFinder } from "./finder.js";

const HOME = "eu-west-1";
const EAST = "us-east-1";
const SECRET = secretArn(HOME);
const PARTIAL = SECRET.replace(/-AbCdEf$/, "");
const GHCR = secretArn(HOME, ACCOUNT, "pullkeeper/ghcr", "Gh4Cr9");

const tracked: TrackedSecret[] = [
  { registryId: "dockerhub", secret: SECRET },
  { registryId: "ghcr", secret: "pullkeeper/ghcr" },
];

/** A project as BatchGetProjects returns it; `credential` undefined: no registry credential. */
function project(name: string, region: string, credential?: string, provider = "SECRETS_MANAGER"): Project {
  return {
    name,
    arn: `arn:aws:codebuild:${region}:${ACCOUNT}:project/${name}`,
    source: { type: "GITHUB", location: `https://github.com/acme/${name}.git` },
    artifacts: { type: "NO_ARTIFACTS" },
    environment: {
      type: "LINUX_CONTAINER",
      image: credential === undefined ? "aws/codebuild/standard:7.0" : "acme/builder:2026.02",
      computeType: "BUILD_GENERAL1_SMALL",
      environmentVariables: [{ name: "LEGACY_TOKEN", value: PASSWORD, type: "PLAINTEXT" }],
      ...(credential !== undefined && { imagePullCredentialsType: "SERVICE_ROLE" as const, registryCredential: { credential, credentialProvider: provider as "SECRETS_MANAGER" } }),
    },
    serviceRole: `arn:aws:iam::${ACCOUNT}:role/service-role/codebuild-${name}`,
  };
}

function container(name: string, credentialsParameter?: string): ContainerDefinition {
  return {
    name,
    image: `acme/${name}:1.0`,
    essential: true,
    environment: [{ name: "LEGACY_TOKEN", value: PASSWORD }],
    ...(credentialsParameter !== undefined && { repositoryCredentials: { credentialsParameter } }),
  };
}

function taskDefinition(family: string, region: string, containers: ContainerDefinition[], revision = 3): TaskDefinition {
  return {
    taskDefinitionArn: `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${family}:${revision}`,
    family,
    revision,
    status: "ACTIVE",
    containerDefinitions: containers,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecsTaskExecutionRole`,
  };
}

interface World {
  projects: Project[];
  taskDefinitions: TaskDefinition[];
}

const worlds: Record<string, World> = {};
const codeBuild: Record<string, CodeBuildClient> = {};
const ecs: Record<string, ECSClient> = {};
const codeBuildMock: Record<string, AwsStub<object, MetadataBearer, unknown>> = {};
const ecsMock: Record<string, AwsStub<object, MetadataBearer, unknown>> = {};

/** Serves one region's world: listings in pages of `pageSize`, projects and task definitions by name. */
function serve(region: string, world: World, pageSize = 100): void {
  worlds[region] = world;
  const pages = <T>(items: T[], token: string | undefined) => {
    const start = token === undefined ? 0 : Number(token);
    const next = start + pageSize;
    return { items: items.slice(start, next), ...(next < items.length && { nextToken: String(next) }) };
  };
  codeBuildMock[region]?.on(ListProjectsCommand).callsFake((input: { nextToken?: string }) => {
    const page = pages(
      world.projects.map((p) => p.name as string),
      input.nextToken,
    );
    return { projects: page.items, ...(page.nextToken !== undefined && { nextToken: page.nextToken }) };
  });
  codeBuildMock[region]?.on(BatchGetProjectsCommand).callsFake((input: BatchGetProjectsCommandInput) => {
    const names = input.names ?? [];
    if (names.length > 100) throw awsError("InvalidInputException", "names: member must have length less than or equal to 100");
    return { projects: world.projects.filter((p) => names.includes(p.name as string)), projectsNotFound: [] };
  });
  ecsMock[region]?.on(ListTaskDefinitionFamiliesCommand).callsFake((input: { nextToken?: string; status?: string }) => {
    if (input.status !== "ACTIVE") throw new Error("expected status ACTIVE");
    const page = pages(
      world.taskDefinitions.map((t) => t.family as string),
      input.nextToken,
    );
    return { families: page.items, ...(page.nextToken !== undefined && { nextToken: page.nextToken }) };
  });
  ecsMock[region]?.on(DescribeTaskDefinitionCommand).callsFake((input: DescribeTaskDefinitionCommandInput) => {
    const found = world.taskDefinitions.find((t) => t.family === input.taskDefinition);
    if (found === undefined) throw new ClientException({ message: "Unable to describe task definition.", $metadata: {} });
    return { taskDefinition: found };
  });
}

function finder(regions = [HOME, EAST]): UndeclaredConsumerFinder {
  const searches = [createCodeBuildSearch({ codeBuild: (r) => codeBuild[r] as CodeBuildClient }), createEcsSearch({ ecs: (r) => ecs[r] as ECSClient })];
  return new UndeclaredConsumerFinder({ regions, searches, defaultRegion: HOME });
}

function codeBuildConsumer(project: string, region?: string): Consumer {
  return { id: `cb-${project}`, registryId: "dockerhub", target: { kind: "codebuild-project", project, ...(region !== undefined && { region }) } };
}

function ecsConsumer(family: string, region?: string): Consumer {
  return { id: `ecs-${family}`, registryId: "dockerhub", target: { kind: "ecs-task-definition", family, ...(region !== undefined && { region }) } };
}

beforeEach(() => {
  for (const region of [HOME, EAST]) {
    codeBuild[region] = new CodeBuildClient({ region, maxAttempts: 1 });
    ecs[region] = new ECSClient({ region, maxAttempts: 1 });
    codeBuildMock[region] = mockClient(codeBuild[region]);
    ecsMock[region] = mockClient(ecs[region]);
    serve(region, { projects: [], taskDefinitions: [] });
  }
});

describe("UndeclaredConsumerFinder: CodeBuild projects", () => {
  it("finds projects that reference a tracked secret by full ARN, partial ARN or name, over every page and in batches of 100", async () => {
    const filler = Array.from({ length: 130 }, (_, i) => project(`site-${String(i).padStart(3, "0")}`, HOME));
    serve(HOME, {
      projects: [
        ...filler.slice(0, 70),
        project("legacy-build", HOME, SECRET),
        project("api-build", HOME, PARTIAL),
        project("docs-build", HOME, "pullkeeper/dockerhub"),
        project("ghcr-build", HOME, GHCR),
        project("other-account-build", HOME, secretArn(HOME, OTHER_ACCOUNT)),
        project("other-region-build", HOME, secretArn(EAST)),
        project("recreated-build", HOME, secretArn(HOME, ACCOUNT, "pullkeeper/dockerhub", "ZyXwVu")),
        ...filler.slice(70),
      ],
      taskDefinitions: [],
    });
    serve(EAST, {
      projects: [
        // By name from us-east-1: resolves to a secret of that region, not the tracked one.
        project("east-name-build", EAST, "pullkeeper/dockerhub"),
        // By ARN from us-east-1: the tracked secret, across regions.
        project("east-arn-build", EAST, SECRET),
      ],
      taskDefinitions: [],
    });

    const found = await finder().find(tracked, []);

    const arn = (name: string, region = HOME) => `arn:aws:codebuild:${region}:${ACCOUNT}:project/${name}`;
    expect(found).toEqual<UndeclaredConsumer[]>([
      { registryId: "dockerhub", kind: "codebuild-project", resource: arn("api-build"), name: "api-build", region: HOME, foundIn: "environment.registryCredential.credential", secretReference: PARTIAL },
      { registryId: "dockerhub", kind: "codebuild-project", resource: arn("docs-build"), name: "docs-build", region: HOME, foundIn: "environment.registryCredential.credential", secretReference: "pullkeeper/dockerhub" },
      { registryId: "dockerhub", kind: "codebuild-project", resource: arn("legacy-build"), name: "legacy-build", region: HOME, foundIn: "environment.registryCredential.credential", secretReference: SECRET },
      { registryId: "dockerhub", kind: "codebuild-project", resource: arn("east-arn-build", EAST), name: "east-arn-build", region: EAST, foundIn: "environment.registryCredential.credential", secretReference: SECRET },
      { registryId: "ghcr", kind: "codebuild-project", resource: arn("ghcr-build"), name: "ghcr-build", region: HOME, foundIn: "environment.registryCredential.credential", secretReference: GHCR },
    ]);
    expect(codeBuildMock[HOME]?.commandCalls(ListProjectsCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, "100"]);
    expect(codeBuildMock[HOME]?.commandCalls(BatchGetProjectsCommand).map((c) => c.args[0].input.names?.length)).toEqual([100, 37]);
    expect(JSON.stringify(found)).not.toContain(PASSWORD);
  });

  it("ignores a registry credential that is not from Secrets Manager", async () => {
    serve(HOME, { projects: [project("odd-build", HOME, SECRET, "OTHER")], taskDefinitions: [] });
    expect(await finder([HOME]).find(tracked, [])).toEqual([]);
  });

  it("leaves out projects a declared consumer covers, by name in its region or by ARN", async () => {
    serve(HOME, {
      projects: [project("web-build", HOME, SECRET), project("ops-build", HOME, SECRET), project("api-build", HOME, SECRET)],
      taskDefinitions: [],
    });
    serve(EAST, { projects: [project("web-build", EAST, SECRET)], taskDefinitions: [] });

    const found = await finder().find(tracked, [
      // No region: delivery looks in its secret's region (eu-west-1), so us-east-1's web-build is not covered.
      codeBuildConsumer("web-build"),
      codeBuildConsumer(`arn:aws:codebuild:${HOME}:${ACCOUNT}:project/ops-build`),
      // Declared, but in another region: eu-west-1's api-build is not this consumer.
      codeBuildConsumer("api-build", "eu-central-1"),
    ]);

    expect(found.map((u) => u.resource)).toEqual([`arn:aws:codebuild:${HOME}:${ACCOUNT}:project/api-build`, `arn:aws:codebuild:${EAST}:${ACCOUNT}:project/web-build`]);
  });
});

describe("UndeclaredConsumerFinder: ECS task definitions", () => {
  it("checks each container of the latest ACTIVE revision of every family, over every page", async () => {
    serve(
      HOME,
      {
        projects: [],
        taskDefinitions: [
          taskDefinition("worker", HOME, [container("worker", PARTIAL), container("sidecar", SECRET), container("metrics")]),
          taskDefinition("batch", HOME, [container("batch", secretArn(EAST))]),
          taskDefinition("cron", HOME, [container("cron", "pullkeeper/ghcr")]),
          taskDefinition("plain", HOME, [container("plain")]),
        ],
      },
      2,
    );

    const found = await finder([HOME]).find(tracked, []);

    expect(found).toEqual<UndeclaredConsumer[]>([
      {
        registryId: "dockerhub",
        kind: "ecs-task-definition",
        resource: `arn:aws:ecs:${HOME}:${ACCOUNT}:task-definition/worker:3`,
        name: "worker",
        region: HOME,
        foundIn: "containerDefinitions[worker].repositoryCredentials.credentialsParameter, containerDefinitions[sidecar].repositoryCredentials.credentialsParameter",
        secretReference: `${PARTIAL}, ${SECRET}`,
      },
      {
        registryId: "ghcr",
        kind: "ecs-task-definition",
        resource: `arn:aws:ecs:${HOME}:${ACCOUNT}:task-definition/cron:3`,
        name: "cron",
        region: HOME,
        foundIn: "containerDefinitions[cron].repositoryCredentials.credentialsParameter",
        secretReference: "pullkeeper/ghcr",
      },
    ]);
    expect(ecsMock[HOME]?.commandCalls(ListTaskDefinitionFamiliesCommand).map((c) => c.args[0].input)).toEqual([{ status: "ACTIVE" }, { status: "ACTIVE", nextToken: "2" }]);
    expect(
      ecsMock[HOME]
        ?.commandCalls(DescribeTaskDefinitionCommand)
        .map((c) => c.args[0].input.taskDefinition)
        .sort(),
    ).toEqual(["batch", "cron", "plain", "worker"]);
  });

  it("skips families that declared consumers cover without describing them; the same family in another region is still checked", async () => {
    serve(HOME, { projects: [], taskDefinitions: [taskDefinition("web", HOME, [container("web", SECRET)]), taskDefinition("api", HOME, [container("api", SECRET)])] });
    serve(EAST, { projects: [], taskDefinitions: [taskDefinition("web", EAST, [container("web", SECRET)])] });

    const found = await finder().find(tracked, [ecsConsumer("web"), ecsConsumer("api", "eu-central-1")]);

    expect(found.map((u) => u.resource)).toEqual([`arn:aws:ecs:${HOME}:${ACCOUNT}:task-definition/api:3`, `arn:aws:ecs:${EAST}:${ACCOUNT}:task-definition/web:3`]);
    expect(ecsMock[HOME]?.commandCalls(DescribeTaskDefinitionCommand).map((c) => c.args[0].input.taskDefinition)).toEqual(["api"]);
  });

  it("passes over a family deregistered between the listing and DescribeTaskDefinition", async () => {
    serve(HOME, { projects: [], taskDefinitions: [taskDefinition("web", HOME, [container("web", SECRET)])] });
    ecsMock[HOME]?.on(ListTaskDefinitionFamiliesCommand).resolves({ families: ["gone", "web"] });
    const found = await finder([HOME]).find(tracked, []);
    expect(found.map((u) => u.name)).toEqual(["web"]);
  });

  it("keeps at most 4 DescribeTaskDefinition calls in flight per region", async () => {
    const families = Array.from({ length: 20 }, (_, i) => taskDefinition(`svc-${i}`, HOME, [container("app")]));
    serve(HOME, { projects: [], taskDefinitions: families });
    let inFlight = 0;
    let most = 0;
    ecsMock[HOME]?.on(DescribeTaskDefinitionCommand).callsFake(async (input: DescribeTaskDefinitionCommandInput) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { taskDefinition: families.find((t) => t.family === input.taskDefinition) };
    });

    await finder([HOME]).find(tracked, []);

    expect(ecsMock[HOME]?.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(20);
    expect(most).toBe(4);
  });
});

describe("UndeclaredConsumerFinder: failures", () => {
  it("an AWS error fails the search, classified, naming the call and the region", async () => {
    serve(EAST, { projects: [project("east-build", EAST, SECRET)], taskDefinitions: [] });
    codeBuildMock[EAST]?.on(BatchGetProjectsCommand).rejects(awsError("AccessDeniedException", "User is not authorized to perform: codebuild:BatchGetProjects"));

    const error = await finder()
      .find(tracked, [])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ code: "access_denied", retryable: false });
    expect((error as Error).message).toMatch(/^reading 1 CodeBuild project\(s\) in us-east-1 \(codebuild:BatchGetProjects\): AccessDeniedException/);
  });

  it("a throttled DescribeTaskDefinition names the family and region", async () => {
    serve(HOME, { projects: [], taskDefinitions: [taskDefinition("web", HOME, [container("web", SECRET)])] });
    ecsMock[HOME]?.on(DescribeTaskDefinitionCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    await expect(finder([HOME]).find(tracked, [])).rejects.toMatchObject({
      code: "throttled",
      retryable: true,
      message: "reading ECS task definition family web in eu-west-1 (ecs:DescribeTaskDefinition): throttled by AWS after the SDK's retries (ThrottlingException)",
    });
  });

  it("makes no call when no secret is tracked", async () => {
    expect(await finder().find([], [])).toEqual([]);
    expect(codeBuildMock[HOME]?.calls()).toHaveLength(0);
    expect(ecsMock[HOME]?.calls()).toHaveLength(0);
  });
});
