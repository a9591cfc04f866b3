import { BatchGetBuildsCommand, type Build, type CodeBuildClient, ListBuildsForProjectCommand } from "@aws-sdk/client-codebuild";
import type { DiscoveredEnvironment } from "@pullkeeper/core";
import { awsDeliveryError } from "../shared/aws-errors.js";
import { batches } from "../shared/batches.js";
import { consoleOrigin } from "../shared/console-url.js";
import { parseArn } from "../shared/secret.js";

/** Phases before PROVISIONING, where CodeBuild pulls the image: the build has not read the credential yet. */
const BEFORE_PULL = new Set(["SUBMITTED", "QUEUED"]);
const PROVISIONING = "PROVISIONING";

function isRunning(build: Build): boolean {
  return build.buildStatus === "IN_PROGRESS" || (build.currentPhase !== undefined && build.currentPhase !== "COMPLETED");
}

/**
 * The running builds of one project, newest first.
 *
 * ListBuildsForProject (DESCENDING) lists a project's whole history, newest first, and running
 * builds are among the newest. So paging stops after the first page (up to 100 builds) in which
 * no build is running: an older build still running would need a hundred later builds of the
 * same project to have started and finished while it ran. Without this bound a project with
 * years of history would cost one call per hundred builds on every audit.
 */
export async function discoverBuilds(codeBuild: CodeBuildClient, project: string, region: string): Promise<DiscoveredEnvironment[]> {
  const found: DiscoveredEnvironment[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await codeBuild.send(new ListBuildsForProjectCommand({ projectName: project, sortOrder: "DESCENDING", ...(nextToken !== undefined && { nextToken }) }));
    } catch (error) {
      throw awsDeliveryError(error, `listing builds of CodeBuild project ${project} in ${region} (codebuild:ListBuildsForProject)`);
    }
    let anyRunning = false;
    for (const ids of batches(page.ids ?? [])) {
      for (const build of await batchGetBuilds(codeBuild, ids, project, region)) {
        if (!isRunning(build)) continue;
        anyRunning = true;
        const environment = toEnvironment(build, project, region);
        if (environment !== undefined) found.push(environment);
      }
    }
    if (!anyRunning) break;
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return found;
}

async function batchGetBuilds(codeBuild: CodeBuildClient, ids: string[], project: string, region: string): Promise<Build[]> {
  try {
    const out = await codeBuild.send(new BatchGetBuildsCommand({ ids }));
    return out.builds ?? [];
  } catch (error) {
    throw awsDeliveryError(error, `reading ${ids.length} build(s) of CodeBuild project ${project} in ${region} (codebuild:BatchGetBuilds)`);
  }
}

/**
 * A running build as an environment, or undefined while it is still queued: it will read the
 * secret's current value when it provisions, so it holds nothing yet.
 */
function toEnvironment(build: Build, project: string, region: string): DiscoveredEnvironment | undefined {
  const id = build.id;
  if (id === undefined || (build.currentPhase !== undefined && BEFORE_PULL.has(build.currentPhase))) return undefined;
  // A build can wait in the queue for hours after startTime; the credential is read when it provisions.
  const provisioned = build.phases?.find((p) => p.phaseType === PROVISIONING)?.startTime;
  const startedAt = provisioned ?? build.startTime;
  if (startedAt === undefined) return undefined;
  const projectName = build.projectName ?? project;
  const arn = parseArn(build.arn ?? "");
  const origin = arn === undefined ? undefined : consoleOrigin(arn.partition, arn.region || region);
  const url = origin === undefined || arn === undefined ? undefined : `${origin}/codesuite/codebuild/${arn.account}/projects/${encodeURIComponent(projectName)}/build/${encodeURIComponent(id)}/?region=${arn.region || region}`;
  const detail = [build.buildNumber === undefined ? undefined : `build #${build.buildNumber}`, build.currentPhase === undefined ? undefined : `phase ${build.currentPhase}`].filter((p) => p !== undefined).join(", ");
  return {
    externalId: id,
    kind: "codebuild-build",
    name: shortBuildId(id),
    startedAt,
    status: build.buildStatus ?? "IN_PROGRESS",
    ...(url !== undefined && { url }),
    ...(detail !== "" && { detail }),
  };
}

/** "web-build:8e3c1f0a-…" → "web-build:8e3c1f0a": the build's UUID is unique long before its end. */
export function shortBuildId(id: string): string {
  const colon = id.lastIndexOf(":");
  return colon < 0 ? id : `${id.slice(0, colon)}:${id.slice(colon + 1, colon + 9)}`;
}
