import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import {
  type Credential,
  NotFoundError,
  parseCredential,
  PullkeeperError,
  RequestTokenConflictError,
  sameCredential,
  serializeCredential,
  type Stage,
  type StagedVersion,
  type StageOptions,
  type StoredCredential,
  type Vault,
} from "@pullkeeper/core";
import { clientOptions } from "./clients.js";
import { classifyAwsError } from "./errors.js";


interface SecretVersions {
  readonly arn: string;
  readonly stagesByVersion: Readonly<Record<string, readonly string[]>>;
}

/** The Vault port on AWS Secrets Manager. */
export class SecretsManagerVault implements Vault {
  readonly #client: SecretsManagerClient;

  constructor(client: SecretsManagerClient = new SecretsManagerClient(clientOptions())) {
    this.#client = client;
  }

  async read(secretId: string, selector: { stage: Stage } | { versionId: string }): Promise<StoredCredential> {
    const label = "stage" in selector ? `stage ${selector.stage}` : `version ${selector.versionId}`;
    let out;
    try {
      out = await this.#client.send(
        new GetSecretValueCommand({
          SecretId: secretId,
          ...("stage" in selector ? { VersionStage: selector.stage } : { VersionId: selector.versionId }),
        }),
      );
    } catch (error) {
      throw classifyAwsError(error, `secret ${secretId} (${label})`);
    }
    if (out.ARN === undefined || out.VersionId === undefined) {
      throw new PullkeeperError("aws_error", `secret ${secretId}: GetSecretValue returned no ARN or VersionId`);
    }
    return {
      arn: out.ARN,
      versionId: out.VersionId,
      stages: out.VersionStages ?? [],
      createdAt: out.CreatedDate ?? new Date(0),
      credential: parseCredential(secretId, out.SecretString),
    };
  }

  async stagePending(secretId: string, value: Credential, requestToken: string, options: StageOptions = {}): Promise<StagedVersion> {
    return this.#write(secretId, value, requestToken, "AWSPENDING", options);
  }

  async putCurrent(secretId: string, value: Credential, requestToken: string): Promise<StagedVersion> {
    return this.#write(secretId, value, requestToken, "AWSCURRENT");
  }

  /** One PutSecretValue labelled `stage`, unless the token was written before or the value is already current. */
  async #write(secretId: string, value: Credential, requestToken: string, stage: "AWSPENDING" | "AWSCURRENT", options: StageOptions = {}): Promise<StagedVersion> {
    const versions = await this.#versions(secretId);
    const tokenStages = versions.stagesByVersion[requestToken];
    // RotateSecret labels the rotation's VersionId AWSPENDING before any value exists: DescribeSecret
    // lists it, GetSecretValue answers ResourceNotFoundException. createSecret's write gives it its value.
    let completing = false;
    if (tokenStages !== undefined) {
      const existing = await this.#valueOf(secretId, requestToken);
      if (existing !== undefined) {
        // A retry of a write that already happened is a no-op; the same token for another value is a bug upstream.
        if (!sameCredential(existing.credential, value)) throw new RequestTokenConflictError(secretId, requestToken);
        return { arn: versions.arn, versionId: requestToken, outcome: "existing" };
      }
      // Only a rotation's own write completes its valueless version; a current value never lands on it.
      if (stage === "AWSCURRENT") throw new PullkeeperError("version_not_pending", `secret ${secretId} version ${requestToken} is a rotation's version without a value; a value written as current cannot take its token`);
      if (!tokenStages.includes("AWSPENDING")) {
        // Not a rotation in progress (its AWSPENDING was taken away): writing would revive an abandoned version.
        throw new PullkeeperError(
          "version_not_pending",
          `secret ${secretId} version ${requestToken} exists without a value and is no longer labelled AWSPENDING (labels: ${tokenStages.join(", ") || "none"}); start a new rotation`,
        );
      }
      completing = true;
    }
    const currentId = this.#holder(versions, "AWSCURRENT");
    if (currentId !== undefined) {
      // Reading the current value also refuses to overwrite a secret that is not a registry login.
      const current = await this.read(secretId, { versionId: currentId });
      // The shortcut never applies to a rotation's version: the steps after createSecret read it by its token.
      if (!completing && sameCredential(current.credential, value)) return { arn: versions.arn, versionId: currentId, outcome: "unchanged" };
    }
    try {
      const out = await this.#client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: requestToken,
          SecretString: serializeCredential(value),
          VersionStages: [stage],
          ...(options.rotationToken !== undefined && { RotationToken: options.rotationToken }),
        }),
      );
      return { arn: out.ARN ?? versions.arn, versionId: out.VersionId ?? requestToken, outcome: "created" };
    } catch (error) {
      if ((error as { name?: string }).name === "ResourceExistsException") {
        throw new RequestTokenConflictError(secretId, requestToken);
      }
      throw classifyAwsError(error, `secret ${secretId} (PutSecretValue)`);
    }
  }

  async promote(secretId: string, versionId: string): Promise<void> {
    const versions = await this.#versions(secretId);
    if (versions.stagesByVersion[versionId] === undefined) throw new NotFoundError(`secret ${secretId} version ${versionId}`);
    const currentId = this.#holder(versions, "AWSCURRENT");
    try {
      if (currentId !== versionId) {
        // Secrets Manager puts AWSPREVIOUS on the version that loses AWSCURRENT.
        await this.#client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: "AWSCURRENT",
            MoveToVersionId: versionId,
            ...(currentId !== undefined && { RemoveFromVersionId: currentId }),
          }),
        );
      }
      // A leftover AWSPENDING would look like an unfinished rotation to the next one.
      const pendingId = this.#holder(versions, "AWSPENDING");
      if (pendingId !== undefined && pendingId === versionId) {
        await this.#client.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: "AWSPENDING", RemoveFromVersionId: pendingId }));
      }
    } catch (error) {
      throw classifyAwsError(error, `secret ${secretId} (UpdateSecretVersionStage)`);
    }
  }

  async #versions(secretId: string): Promise<SecretVersions> {
    try {
      const out = await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
      if (out.ARN === undefined) throw new PullkeeperError("aws_error", `secret ${secretId}: DescribeSecret returned no ARN`);
      return { arn: out.ARN, stagesByVersion: out.VersionIdsToStages ?? {} };
    } catch (error) {
      throw classifyAwsError(error, `secret ${secretId}`);
    }
  }

  /** The version's value, or undefined when the version has none (yet). */
  async #valueOf(secretId: string, versionId: string): Promise<StoredCredential | undefined> {
    try {
      return await this.read(secretId, { versionId });
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  #holder(versions: SecretVersions, stage: Stage): string | undefined {
    return Object.entries(versions.stagesByVersion).find(([, stages]) => stages.includes(stage))?.[0];
  }
}
