import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionFamiliesCommand, type TaskDefinition } from "@aws-sdk/client-ecs";
import type { UndeclaredResourceReference as SecretReference, UndeclaredResourceSearch } from "@pullkeeper/core";
import pLimit from "p-limit";
import { clientOptions } from "../../clients.js";
import { awsDeliveryError, awsErrorName } from "../shared/aws-errors.js";
import { perRegion } from "../shared/common.js";
import { parseArn } from "../shared/secret.js";
import { ecsTaskDefinitionTargetSchema } from "./schema.js";

const KIND = ecsTaskDefinitionTargetSchema.shape.kind.value;

/**
 * This kind's part of the undeclared-consumer search (consumers/undeclared/finder.ts): task
 * definitions whose containers take their repositoryCredentials from a tracked secret. `ecs`: a
 * client per region (tests); default real clients, built on first use.
 */
export function createUndeclaredSearch(options: { readonly ecs?: (region: string) => ECSClient; readonly describeConcurrency?: number } = {}): UndeclaredResourceSearch {
  const client = options.ecs ?? perRegion((region) => new ECSClient(clientOptions(region)));
  return {
    kind: KIND,
    // A task definition is named by family, in the consumer's region, else the fallback.
    declared: (consumer, fallbackRegion) => {
      const parsed = ecsTaskDefinitionTargetSchema.safeParse(consumer.target);
      return parsed.success ? { name: parsed.data.family, region: parsed.data.region ?? fallbackRegion } : undefined;
    },
    references: (region, skip) => ecsReferences(client(region), region, skip, options.describeConcurrency),
  };
}

/**
 * DescribeTaskDefinition is one call per family and ECS throttles it hard; a few calls in
 * flight keep a large account fast without tripping it, and the SDK's standard retry mode
 * absorbs what throttling remains.
 */
export const DESCRIBE_TASK_DEFINITION_CONCURRENCY = 4;

/**
 * Every repositoryCredentials reference of the latest ACTIVE revision of each task-definition
 * family in one region (older ACTIVE revisions are not read: one call per family, not per
 * revision). `skip` leaves out families already accounted for before any call is spent on them.
 */
export async function ecsReferences(ecs: ECSClient, region: string, skip: (family: string) => boolean, concurrency = DESCRIBE_TASK_DEFINITION_CONCURRENCY): Promise<SecretReference[]> {
  const families: string[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await ecs.send(new ListTaskDefinitionFamiliesCommand({ status: "ACTIVE", ...(nextToken !== undefined && { nextToken }) }));
    } catch (error) {
      throw awsDeliveryError(error, `listing ECS task-definition families in ${region} (ecs:ListTaskDefinitionFamilies)`);
    }
    families.push(...(page.families ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");

  const limit = pLimit(concurrency);
  let definitions: (TaskDefinition | undefined)[];
  try {
    definitions = await Promise.all(families.filter((f) => !skip(f)).map((family) => limit(() => latestActive(ecs, family, region))));
  } catch (error) {
    // One failure fails the search; the calls still queued would only spend the rate budget.
    limit.clearQueue();
    throw error;
  }
  return definitions.flatMap((definition) => (definition === undefined ? [] : references(definition, region)));
}

async function latestActive(ecs: ECSClient, family: string, region: string): Promise<TaskDefinition | undefined> {
  try {
    return (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }))).taskDefinition;
  } catch (error) {
    // Deregistered between the listing and this call: it has no ACTIVE revision left to hold a reference.
    if (awsErrorName(error) === "ClientException" && /unable to describe task definition/i.test((error as Error).message ?? "")) return undefined;
    throw awsDeliveryError(error, `reading ECS task definition family ${family} in ${region} (ecs:DescribeTaskDefinition)`);
  }
}

function references(definition: TaskDefinition, region: string): SecretReference[] {
  const arn = parseArn(definition.taskDefinitionArn ?? "");
  if (arn === undefined || definition.family === undefined) return [];
  const found: SecretReference[] = [];
  for (const container of definition.containerDefinitions ?? []) {
    const reference = container.repositoryCredentials?.credentialsParameter;
    if (!reference) continue;
    found.push({
      kind: KIND,
      resource: definition.taskDefinitionArn as string,
      name: definition.family,
      region: arn.region || region,
      account: arn.account,
      foundIn: `containerDefinitions[${container.name ?? "?"}].repositoryCredentials.credentialsParameter`,
      reference,
    });
  }
  return found;
}
