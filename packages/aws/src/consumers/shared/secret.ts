import { DescribeSecretCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DeliveryError } from "@pullkeeper/core";
import { parseArn } from "./arn.js";
import { awsDeliveryError } from "./aws-errors.js";

export { type ArnParts, parseArn } from "./arn.js";

/** Where a consumer (project, task definition) or a secret lives. */
export interface AwsLocation {
  readonly region: string;
  readonly account: string;
}

/** How the secret's value is encrypted, as far as the consumer's role is concerned. */
export type SecretKey =
  | { readonly type: "aws-managed" }
  /** A customer-managed key: the role needs kms:Decrypt on it. */
  | { readonly type: "customer"; readonly keyArn: string }
  /** A customer key named by alias: its key ARN is unknown without KMS, so Decrypt cannot be simulated. */
  | { readonly type: "alias"; readonly alias: string };

/** The registry's secret as DescribeSecret reports it: never its value. */
export interface RegistrySecret extends AwsLocation {
  readonly arn: string;
  readonly name: string;
  readonly partition: string;
  readonly key: SecretKey;
  readonly tags: Readonly<Record<string, string>>;
  /** The version that carries AWSCURRENT, when DescribeSecret lists it. */
  readonly currentVersionId: string | undefined;
}

function secretKey(kmsKeyId: string | undefined, partition: string, region: string, account: string): SecretKey {
  if (kmsKeyId === undefined || kmsKeyId === "" || /(?:^|:)alias\/aws\/secretsmanager$/.test(kmsKeyId)) return { type: "aws-managed" };
  const arn = parseArn(kmsKeyId);
  if (arn) return arn.resource.startsWith("alias/") ? { type: "alias", alias: kmsKeyId } : { type: "customer", keyArn: kmsKeyId };
  if (kmsKeyId.startsWith("alias/")) return { type: "alias", alias: kmsKeyId };
  // A bare key ID: the key is in the secret's own region and account.
  return { type: "customer", keyArn: `arn:${partition}:kms:${region}:${account}:key/${kmsKeyId}` };
}

/**
 * Describes the registry's secret (never reads its value): its full ARN, name, location, the
 * KMS key that encrypts it and its tags (policy conditions may test them).
 */
export async function describeRegistrySecret(client: (region: string) => SecretsManagerClient, secretId: string, fallbackRegion: string): Promise<RegistrySecret> {
  const region = parseArn(secretId)?.region || fallbackRegion;
  let out;
  try {
    out = await client(region).send(new DescribeSecretCommand({ SecretId: secretId }));
  } catch (error) {
    throw awsDeliveryError(error, `describing the registry's secret ${secretId} in ${region}`);
  }
  const arn = out.ARN ?? secretId;
  const parts = parseArn(arn);
  if (!parts || parts.service !== "secretsmanager" || out.Name === undefined) {
    throw new DeliveryError("unavailable", `describing the registry's secret ${secretId}: the response had no ARN or name`, { retryable: true });
  }
  const tags: Record<string, string> = {};
  for (const tag of out.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? "";
  const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes("AWSCURRENT"))?.[0];
  return {
    arn,
    name: out.Name,
    partition: parts.partition,
    region: parts.region,
    account: parts.account,
    key: secretKey(out.KmsKeyId, parts.partition, parts.region, parts.account),
    tags,
    currentVersionId: current,
  };
}

/** The full ARN without its "-" and six random characters: what a partial ARN looks like. */
function partialArn(fullArn: string): string {
  return fullArn.replace(/-[A-Za-z0-9]{6}$/, "");
}

/**
 * Whether `reference` (a secret ARN, partial ARN or name, as CodeBuild or ECS holds it) names
 * the registry's secret, as seen from a consumer at `from`. A bare name is resolved in the
 * consumer's own region and account, so it is right only when the secret lives there too.
 * Returns why not, or undefined when it does.
 */
export function secretReferenceFault(reference: string | undefined, secret: RegistrySecret, from: AwsLocation): string | undefined {
  if (reference === undefined || reference.trim() === "") return `references no secret; expected the registry's secret ${secret.arn}`;
  const arn = parseArn(reference);
  if (arn) {
    if (arn.service !== "secretsmanager") return `references ${reference}, which is not a Secrets Manager secret; expected ${secret.arn}`;
    if (reference === secret.arn || reference === partialArn(secret.arn)) return undefined;
    if (partialArn(reference) === partialArn(secret.arn)) {
      return `references ${reference}, an earlier secret with the same name (deleted and re-created?); expected ${secret.arn}`;
    }
    return `references ${reference}, not the registry's secret ${secret.arn}`;
  }
  if (reference !== secret.name) return `references the secret named "${reference}", not the registry's secret ${secret.arn}`;
  if (from.region !== secret.region || from.account !== secret.account) {
    return (
      `references the secret by name ("${reference}"), which resolves in ${from.region} / account ${from.account}, ` +
      `but the secret is in ${secret.region} / account ${secret.account}: a secret in another region or account must be referenced by its full ARN ${secret.arn}`
    );
  }
  return undefined;
}
