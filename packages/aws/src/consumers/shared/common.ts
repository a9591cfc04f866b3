import { awsRegion, parseTargetConfig, type Registry } from "@pullkeeper/core";
import { isEcrHost } from "./image-host.js";

/** A region the AWS SDK knows, as source.region accepts (core's awsRegion: one rule everywhere). */
export const awsRegionSchema = awsRegion;

/**
 * The region a consumer's rate-limit bucket is named after when its config names none and its
 * identifier carries none: the deployment's own region (the default credential chain's).
 */
export function ambientRegion(): string {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "default";
}

/** One client per region, built on first use: targets stay cheap to construct. */
export function perRegion<C>(factory: (region: string) => C): (region: string) => C {
  const clients = new Map<string, C>();
  return (region) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = factory(region);
      clients.set(region, client);
    }
    return client;
  };
}

/** The consumer's target through its kind's schema (applies defaults); core's parseTargetConfig. */
export const parseConsumerTarget = parseTargetConfig;

/** ECR and ECR Public are pulled through IAM; a Secrets Manager secret is never used for them. */
export function isEcrRegistry(registry: Registry): boolean {
  return registry.kind === "ecr" || registry.kind === "ecr-public" || isEcrHost(registry.host);
}

/** Which version new builds / tasks will read, said without claiming more than DescribeSecret showed. */
export function newReadersNote(what: string, versionId: string, currentVersionId: string | undefined): string {
  if (currentVersionId === undefined || currentVersionId === versionId) return `new ${what} read the secret's AWSCURRENT version ${versionId}`;
  return `new ${what} read the secret's AWSCURRENT version, which is now ${currentVersionId} (this delivery was for ${versionId})`;
}
