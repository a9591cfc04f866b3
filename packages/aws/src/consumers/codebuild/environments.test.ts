import { BatchGetBuildsCommand, type BatchGetBuildsCommandInput, type Build, CodeBuildClient, ListBuildsForProjectCommand } from "@aws-sdk/client-codebuild";
import type { MetadataBearer } from "@aws-sdk/types";
import { type Consumer, DeliveryError } from "@pullkeeper/core";
import { type AwsStub, mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { ACCOUNT, awsError, secretArn } from "../shared/testing.js";
import { CodeBuildTarget } from "./codebuild-target.js";
import { shortBuildId } from "./environments.js";

const REGION = "eu-west-1";
const PROJECT = "web-build";

function buildId(n: number): string {
  return `${PROJECT}:${n.toString(16).padStart(8, "0")}-4c1d-4e2f-9a3b-5c6d7e8f9a0b`;
}

type Running = "running" | "queued" | "done" | "failed";

/** A build as BatchGetBuilds returns it; build n started n minutes after 08:00. */
function build(n: number, state: Running): Build {
  const startTime = new Date(Date.UTC(2026, 2, 2, 8, n));
  const provisioning = new Date(startTime.getTime() + 95_000);
  const phases = [
    { phaseType: "SUBMITTED" as const, phaseStatus: "SUCCEEDED" as const, startTime, endTime: startTime, durationInSeconds: 0 },
    { phaseType: "QUEUED" as const, phaseStatus: "SUCCEEDED" as const, startTime, endTime: provisioning, durationInSeconds: 95 },
    { phaseType: "PROVISIONING" as const, startTime: provisioning },
  ];
  const common = {
    id: buildId(n),
    arn: `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/${buildId(n)}`,
    buildNumber: n,
    startTime,
    projectName: PROJECT,
    sourceVersion: "refs/heads/main",
    initiator: "GitHub-Hookshot/4f8a2c1",
    environment: { type: "LINUX_CONTAINER" as const, image: "acme/builder:2026.02", computeType: "BUILD_GENERAL1_SMALL" as const },
  };
  switch (state) {
    case "running":
      return { ...common, buildStatus: "IN_PROGRESS", currentPhase: "BUILD", buildComplete: false, phases };
    case "queued":
      return { ...common, buildStatus: "IN_PROGRESS", currentPhase: "QUEUED", buildComplete: false, phases: phases.slice(0, 2).map((p) => (p.phaseType === "QUEUED" ? { phaseType: p.phaseType, startTime } : p)) };
    case "done":
      return { ...common, buildStatus: "SUCCEEDED", currentPhase: "COMPLETED", buildComplete: true, endTime: new Date(startTime.getTime() + 600_000), phases };
    case "failed":
      return { ...common, buildStatus: "FAILED", currentPhase: "COMPLETED", buildComplete: true, endTime: new Date(startTime.getTime() + 300_000), phases };
  }
}

function consumer(target: Record<string, unknown> = {}): Consumer {
  return { id: "web-build", registryId: "dockerhub", target: { kind: "codebuild-project", project: PROJECT, region: REGION, ...target } };
}

let codeBuild: CodeBuildClient;
let mock: AwsStub<object, MetadataBearer, unknown>;
let states: Map<string, Running>;
let regions: string[];

function target(registrySecret?: string): CodeBuildTarget {
  return new CodeBuildTarget({ codeBuild: (region) => (regions.push(region), codeBuild), ...(registrySecret !== undefined && { registrySecret: () => registrySecret }) });
}

/** ListBuildsForProject pages (newest first) of build numbers, with their states. */
function history(pages: [number, Running][][]): void {
  states = new Map(pages.flat().map(([n, s]) => [buildId(n), s]));
  pages.forEach((page, i) => {
    const out = { ids: page.map(([n]) => buildId(n)), ...(i < pages.length - 1 && { nextToken: `page-${i + 2}` }) };
    mock.on(ListBuildsForProjectCommand, { projectName: PROJECT, sortOrder: "DESCENDING", ...(i > 0 && { nextToken: `page-${i + 1}` }) }, true).resolves(out);
  });
}

beforeEach(() => {
  codeBuild = new CodeBuildClient({ region: REGION, maxAttempts: 1 });
  mock = mockClient(codeBuild);
  regions = [];
  states = new Map();
  mock.on(BatchGetBuildsCommand).callsFake((input: BatchGetBuildsCommandInput) => ({
    builds: (input.ids ?? []).map((id) => build(Number.parseInt(id.slice(PROJECT.length + 1, PROJECT.length + 9), 16), states.get(id) ?? "done")),
    buildsNotFound: [],
  }));
});

describe("CodeBuildTarget.discoverEnvironments", () => {
  it("keeps the builds in progress, as environments", async () => {
    history([
      [
        [42, "running"],
        [41, "done"],
        [40, "failed"],
        [39, "running"],
      ],
    ]);

    const found = await target().discoverEnvironments(consumer());

    expect(found).toEqual([
      {
        externalId: buildId(42),
        kind: "codebuild-build",
        name: "web-build:0000002a",
        // The PROVISIONING phase's start (08:42:00 + 95 s in the queue): when the image, and the credential, were pulled.
        startedAt: new Date("2026-03-02T08:43:35Z"),
        status: "IN_PROGRESS",
        url: `https://${REGION}.console.aws.amazon.com/codesuite/codebuild/${ACCOUNT}/projects/web-build/build/${encodeURIComponent(buildId(42))}/?region=${REGION}`,
        detail: "build #42, phase BUILD",
      },
      expect.objectContaining({ externalId: buildId(39), startedAt: new Date("2026-03-02T08:40:35Z") }),
    ]);
  });

  it("leaves out a build still queued: it has not read the credential yet", async () => {
    history([
      [
        [43, "queued"],
        [42, "running"],
      ],
    ]);
    expect((await target().discoverEnvironments(consumer())).map((e) => e.externalId)).toEqual([buildId(42)]);
  });

  it("falls back to startTime when the build reports no PROVISIONING phase", async () => {
    history([[[42, "running"]]]);
    mock.on(BatchGetBuildsCommand).resolves({ builds: [{ ...build(42, "running"), phases: undefined }] });
    const [only] = await target().discoverEnvironments(consumer());
    expect(only?.startedAt).toEqual(new Date("2026-03-02T08:42:00Z"));
  });

  it("pages newest first while a page holds a running build, and stops at the first page without one", async () => {
    history([
      [
        [50, "done"],
        [49, "running"],
      ],
      [
        [48, "queued"],
        [47, "done"],
      ],
      [
        [46, "done"],
        [45, "done"],
      ],
      // Never read: builds older than a page without any running build.
      [
        [44, "running"],
        [43, "done"],
      ],
    ]);

    const found = await target().discoverEnvironments(consumer());

    expect(found.map((e) => e.externalId)).toEqual([buildId(49)]);
    expect(mock.commandCalls(ListBuildsForProjectCommand).map((c) => c.args[0].input)).toEqual([
      { projectName: PROJECT, sortOrder: "DESCENDING" },
      { projectName: PROJECT, sortOrder: "DESCENDING", nextToken: "page-2" },
      { projectName: PROJECT, sortOrder: "DESCENDING", nextToken: "page-3" },
    ]);
  });

  it("reads a second page when the first holds running builds only", async () => {
    history([
      [
        [50, "running"],
        [49, "running"],
      ],
      [
        [48, "running"],
        [47, "done"],
      ],
    ]);
    expect((await target().discoverEnvironments(consumer())).map((e) => e.externalId)).toEqual([buildId(50), buildId(49), buildId(48)]);
    expect(mock.commandCalls(ListBuildsForProjectCommand)).toHaveLength(2);
  });

  it("asks BatchGetBuilds for at most 100 IDs per call", async () => {
    const page = Array.from({ length: 150 }, (_, i): [number, Running] => [300 - i, i === 149 ? "running" : "done"]);
    history([page]);

    const found = await target().discoverEnvironments(consumer());

    expect(found.map((e) => e.externalId)).toEqual([buildId(151)]);
    const calls = mock.commandCalls(BatchGetBuildsCommand).map((c) => c.args[0].input.ids ?? []);
    expect(calls.map((ids) => ids.length)).toEqual([100, 50]);
    expect(calls.flat()).toEqual(page.map(([n]) => buildId(n)));
  });

  it("lists builds by project name when the consumer gives the project's ARN, in the ARN's region", async () => {
    mock.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    await target().discoverEnvironments(consumer({ project: `arn:aws:codebuild:us-east-2:${ACCOUNT}:project/${PROJECT}`, region: undefined }));
    expect(mock.commandCalls(ListBuildsForProjectCommand)[0]?.args[0].input.projectName).toBe(PROJECT);
    expect(regions).toEqual(["us-east-2"]);
  });

  it("looks in the region of the registry's secret when the consumer names none", async () => {
    mock.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    await target(secretArn("ca-central-1")).discoverEnvironments(consumer({ region: undefined }));
    expect(regions).toEqual(["ca-central-1"]);
  });

  it("an AWS error surfaces classified, naming the call, the project and the region", async () => {
    history([[[42, "running"]]]);
    mock.on(BatchGetBuildsCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    const error = await target()
      .discoverEnvironments(consumer())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ code: "throttled", retryable: true });
    expect((error as Error).message).toContain(`reading 1 build(s) of CodeBuild project ${PROJECT} in ${REGION} (codebuild:BatchGetBuilds)`);

    mock.on(ListBuildsForProjectCommand).rejects(awsError("ResourceNotFoundException", `The provided project name ${PROJECT} does not exist`));
    await expect(target().discoverEnvironments(consumer())).rejects.toMatchObject({ code: "not_found", message: expect.stringContaining("codebuild:ListBuildsForProject") });
  });

  it("has no restartEnvironment: a build cannot be restarted safely", () => {
    expect("restartEnvironment" in target()).toBe(false);
  });
});

describe("shortBuildId", () => {
  it("keeps the project and the first 8 characters of the UUID", () => {
    expect(shortBuildId("web-build:8e3c1f0a-4c1d-4e2f-9a3b-5c6d7e8f9a0b")).toBe("web-build:8e3c1f0a");
    expect(shortBuildId("no-colon")).toBe("no-colon");
  });
});
