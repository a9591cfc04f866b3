import { BatchGetProjectsCommand, CodeBuildClient, ListProjectsCommand } from "@aws-sdk/client-codebuild";
import type { UndeclaredResourceReference as SecretReference, UndeclaredResourceSearch } from "@pullkeeper/core";
import { clientOptions } from "../../clients.js";
import { awsDeliveryError } from "../shared/aws-errors.js";
import { batches } from "../shared/batches.js";
import { perRegion } from "../shared/common.js";
import { parseArn } from "../shared/secret.js";
import { codeBuildProjectArnRegion, codeBuildProjectTargetSchema } from "./schema.js";

const KIND = codeBuildProjectTargetSchema.shape.kind.value;

/**
 * This kind's part of the undeclared-consumer search (consumers/undeclared/finder.ts): projects
 * whose registry credential is a tracked secret. `codeBuild`: a client per region (tests); default
 * real clients, built on first use.
 */
export function createUndeclaredSearch(options: { readonly codeBuild?: (region: string) => CodeBuildClient } = {}): UndeclaredResourceSearch {
  const client = options.codeBuild ?? perRegion((region) => new CodeBuildClient(clientOptions(region)));
  return {
    kind: KIND,
    // A project is named by name (in the consumer's region, else its ARN's, else the fallback) or by ARN.
    declared: (consumer, fallbackRegion) => {
      const parsed = codeBuildProjectTargetSchema.safeParse(consumer.target);
      if (!parsed.success) return undefined;
      const { project, region } = parsed.data;
      return { name: project, region: region ?? codeBuildProjectArnRegion(project) ?? fallbackRegion };
    },
    references: (region) => codeBuildReferences(client(region), region),
  };
}

const SECRETS_MANAGER = "SECRETS_MANAGER";

/**
 * Every registry-credential reference of the caller's CodeBuild projects in one region. Only
 * SECRETS_MANAGER credentials name a secret; projects shared from other accounts are not listed.
 */
export async function codeBuildReferences(codeBuild: CodeBuildClient, region: string): Promise<SecretReference[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await codeBuild.send(new ListProjectsCommand({ ...(nextToken !== undefined && { nextToken }) }));
    } catch (error) {
      throw awsDeliveryError(error, `listing CodeBuild projects in ${region} (codebuild:ListProjects)`);
    }
    names.push(...(page.projects ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");

  const found: SecretReference[] = [];
  for (const batch of batches(names)) {
    let out;
    try {
      out = await codeBuild.send(new BatchGetProjectsCommand({ names: batch }));
    } catch (error) {
      throw awsDeliveryError(error, `reading ${batch.length} CodeBuild project(s) in ${region} (codebuild:BatchGetProjects)`);
    }
    for (const project of out.projects ?? []) {
      const credential = project.environment?.registryCredential;
      const arn = parseArn(project.arn ?? "");
      if (credential?.credentialProvider !== SECRETS_MANAGER || !credential.credential || project.name === undefined || arn === undefined) continue;
      found.push({
        kind: KIND,
        resource: project.arn as string,
        name: project.name,
        region: arn.region || region,
        account: arn.account,
        foundIn: "environment.registryCredential.credential",
        reference: credential.credential,
      });
    }
  }
  return found;
}
