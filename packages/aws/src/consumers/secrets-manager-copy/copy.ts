import { createHash } from "node:crypto";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@aws-sdk/types";
import { type DeliveryContext, DeliveryError } from "@pullkeeper/core";
import { awsDeliveryError, awsErrorName } from "../shared/aws-errors.js";
import { ambientRegion } from "../shared/common.js";
import { parseArn } from "../shared/arn.js";
import { CREDENTIAL_FIELDS, type KeyMapping, secretArnParts } from "./schema.js";

/** Where a copy goes, as the copying targets resolve it from their config. */
export interface CopyDestination {
  readonly secretId: string;
  readonly region?: string | undefined;
  readonly roleArn?: string | undefined;
  readonly keys: KeyMapping;
  readonly createIfMissing: boolean;
}

export interface SecretCopierOptions {
  /** A Secrets Manager client for a region, with the assumed role's credentials when given (tests swap it). */
  readonly secretsManager: (region: string, credentials?: AwsCredentialIdentity) => SecretsManagerClient;
  readonly sts: (region: string) => STSClient;
}

export interface CopyResult {
  /** The destination's ARN (as Secrets Manager answered) and the version that now carries AWSCURRENT. */
  readonly arn: string;
  readonly versionId: string;
  /** What happened, for the outcome's detail; never the value. */
  readonly detail: string;
}

/** The region a destination lives in: its own, its ARN's, the registry secret's, else the deployment's. */
export function destinationRegion(destination: Pick<CopyDestination, "secretId" | "region">, registrySecretArn: string): string {
  return destination.region ?? secretArnParts(destination.secretId)?.region ?? (parseArn(registrySecretArn)?.region || undefined) ?? ambientRegion();
}

/**
 * The ClientRequestToken of one delivery: derived from (consumer, version) and the destination
 * with its key mapping — never from the value — so a retried delivery sends the same token and
 * Secrets Manager treats it as a no-op, while a changed mapping or destination gets its own version.
 */
export function copyRequestToken(consumerId: string, versionId: string, destination: Pick<CopyDestination, "secretId" | "keys">): string {
  const keys = CREDENTIAL_FIELDS.map((f) => `${f}=${destination.keys[f] ?? ""}`).join("&");
  return createHash("sha256").update(`pullkeeper/copy\n${consumerId}\n${versionId}\n${destination.secretId}\n${keys}`).digest("hex");
}

/** The JSON the destination holds: each mapped field under its key, in field order. */
export function copiedValue(context: DeliveryContext, keys: KeyMapping): Record<string, string> {
  const username = context.credential.username;
  const password = context.credential.password.reveal();
  const fields: Record<(typeof CREDENTIAL_FIELDS)[number], string> = {
    username,
    password,
    auth: Buffer.from(`${username}:${password}`, "utf8").toString("base64"),
    registry: context.registry.host,
  };
  const value: Record<string, string> = {};
  for (const field of CREDENTIAL_FIELDS) {
    const key = keys[field];
    if (key !== undefined) value[key] = fields[field];
  }
  return value;
}

function sameValue(held: string | undefined, expected: Record<string, string>): boolean {
  if (held === undefined) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(held);
  } catch {
    return false;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return false;
  const entries = Object.entries(parsed as Record<string, unknown>);
  return entries.length === Object.keys(expected).length && entries.every(([k, v]) => expected[k] === v);
}

/**
 * Keeps a Secrets Manager secret holding a registry credential (the implementation the
 * `secrets-manager-copy` and pull-through-cache targets share):
 * 1. PutSecretValue with the delivery's ClientRequestToken (same token + same value: a no-op);
 *    a missing secret is created by name when `createIfMissing` (CreateSecret, same token);
 * 2. GetSecretValue of AWSCURRENT, compared with what was sent (the value is never logged,
 *    returned or put in an error); if someone else's value became current after ours, AWSCURRENT
 *    is moved back to our version (UpdateSecretVersionStage) and read again.
 */
export class SecretCopier {
  readonly #secretsManager: SecretCopierOptions["secretsManager"];
  readonly #sts: SecretCopierOptions["sts"];

  constructor(options: SecretCopierOptions) {
    this.#secretsManager = options.secretsManager;
    this.#sts = options.sts;
  }

  async copy(context: DeliveryContext, destination: CopyDestination, label: string): Promise<CopyResult> {
    const region = destinationRegion(destination, context.secretArn);
    this.#refuseOwnSecret(context, destination, region);
    const where = `${label} ${destination.secretId} (${region})`;
    const credentials = destination.roleArn === undefined ? undefined : await this.#assume(context, destination.roleArn, region, where);
    const client = this.#secretsManager(region, credentials);
    const token = copyRequestToken(context.consumer.id, context.versionId, destination);
    const value = copiedValue(context, destination.keys);
    const secretString = JSON.stringify(value);

    let arn: string | undefined;
    let created = false;
    await context.beforeWrite?.();
    try {
      const out = await client.send(new PutSecretValueCommand({ SecretId: destination.secretId, ClientRequestToken: token, SecretString: secretString }));
      arn = out.ARN;
    } catch (error) {
      if (awsErrorName(error) === "ResourceNotFoundException" && destination.createIfMissing) {
        arn = await this.#create(context, client, destination, token, secretString, where);
        created = true;
      } else {
        throw this.#error(error, `${where}: writing the credential (secretsmanager:PutSecretValue)`, destination);
      }
    }

    let current = await this.#readCurrent(client, destination.secretId, where);
    let moved: string | undefined;
    if (current.versionId !== token && !sameValue(current.value, value)) {
      // Our version exists (the put was a no-op or just landed) but another value is AWSCURRENT: make ours current again.
      await context.beforeWrite?.();
      try {
        await client.send(
          new UpdateSecretVersionStageCommand({ SecretId: destination.secretId, VersionStage: "AWSCURRENT", MoveToVersionId: token, ...(current.versionId !== undefined && { RemoveFromVersionId: current.versionId }) }),
        );
      } catch (error) {
        const what = `${where}: making this delivery's version current again (secretsmanager:UpdateSecretVersionStage)`;
        // AWSCURRENT moved between the read and the move: the next attempt reads again.
        if (awsErrorName(error) === "InvalidParameterException") throw new DeliveryError("unavailable", `${what}: AWSCURRENT moved meanwhile`, { retryable: true, cause: error });
        throw this.#error(error, what, destination);
      }
      moved = current.versionId;
      current = await this.#readCurrent(client, destination.secretId, where);
    }
    if (!sameValue(current.value, value)) {
      throw new DeliveryError("verification_failed", `${where}: AWSCURRENT (version ${current.versionId ?? "unknown"}) does not hold what was written after the write`, { retryable: true });
    }
    const versionId = current.versionId ?? token;
    const keys = Object.keys(value).join(", ");
    const how = created ? "created the secret with" : moved !== undefined ? `moved AWSCURRENT back from version ${moved} to` : "wrote";
    return { arn: current.arn ?? arn ?? destination.secretId, versionId, detail: `${how} version ${versionId} (keys ${keys}) and read it back as AWSCURRENT` };
  }

  /** Copying a registry's credential onto its own secret would replace its {username, password} with the mapping's JSON. */
  #refuseOwnSecret(context: DeliveryContext, destination: CopyDestination, region: string): void {
    const source = parseArn(context.secretArn);
    const dest = secretArnParts(destination.secretId);
    const sourceName = source?.resource.replace(/^secret:/, "").replace(/-[A-Za-z0-9]{6}$/, "");
    const same = dest
      ? destination.secretId === context.secretArn || (dest.name === sourceName && dest.region === source?.region && dest.account === source?.account)
      : destination.roleArn === undefined && destination.secretId === sourceName && region === source?.region;
    if (same) {
      throw new DeliveryError("invalid_target", `consumer ${context.consumer.id}: ${destination.secretId} is registry ${context.registry.id}'s own secret; a copy must go to another secret`, { retryable: false });
    }
  }

  async #create(context: DeliveryContext, client: SecretsManagerClient, destination: CopyDestination, token: string, secretString: string, where: string): Promise<string | undefined> {
    await context.beforeWrite?.();
    try {
      const out = await client.send(
        new CreateSecretCommand({
          Name: destination.secretId,
          ClientRequestToken: token,
          SecretString: secretString,
          Description: `Registry ${context.registry.id}'s pull credential, kept current by pullkeeper (consumer ${context.consumer.id})`,
        }),
      );
      return out.ARN;
    } catch (error) {
      throw this.#error(error, `${where}: creating the secret (secretsmanager:CreateSecret)`, destination);
    }
  }

  async #readCurrent(client: SecretsManagerClient, secretId: string, where: string): Promise<{ arn: string | undefined; versionId: string | undefined; value: string | undefined }> {
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }));
      return { arn: out.ARN, versionId: out.VersionId, value: out.SecretString };
    } catch (error) {
      throw this.#error(error, `${where}: reading it back (secretsmanager:GetSecretValue)`, undefined);
    }
  }

  async #assume(context: DeliveryContext, roleArn: string, region: string, where: string): Promise<AwsCredentialIdentity> {
    let out;
    try {
      out = await this.#sts(region).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `pullkeeper-copy-${context.consumer.id}`.slice(0, 64).replace(/[^\w+=,.@-]/g, "-"), DurationSeconds: 900 }));
    } catch (error) {
      throw awsDeliveryError(error, `${where}: assuming ${roleArn} (sts:AssumeRole)`);
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new DeliveryError("unavailable", `${where}: AssumeRole of ${roleArn} returned no credentials`, { retryable: true });
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken && { sessionToken: c.SessionToken }), ...(c.Expiration && { expiration: c.Expiration }) };
  }

  /** awsDeliveryError, with the messages a copy needs: a missing secret says how to have it created, a token clash says why. */
  #error(error: unknown, what: string, destination: CopyDestination | undefined): DeliveryError {
    const name = awsErrorName(error);
    if (name === "ResourceNotFoundException" && destination !== undefined && !destination.createIfMissing) {
      return new DeliveryError("not_found", `${what}: the secret does not exist; create it, or set createIfMissing: true to let pullkeeper create it by name`, { retryable: false, cause: error });
    }
    if (name === "ResourceExistsException") {
      return new DeliveryError("invalid_request", `${what}: a version with this delivery's token already holds another value (the registry's host changed for the same version?)`, { retryable: false, cause: error });
    }
    if (name === "InvalidRequestException") {
      return new DeliveryError("invalid_request", `${what}: ${(error as Error).message} (a secret scheduled for deletion must be restored first)`, { retryable: false, cause: error });
    }
    return awsDeliveryError(error, what);
  }
}
