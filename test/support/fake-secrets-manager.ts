import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { randomUUID } from "node:crypto";

/**
 * An in-memory model of the Secrets Manager calls pullkeeper makes, with the service's
 * documented semantics (labels on one version at a time, AWSPREVIOUS follows AWSCURRENT,
 * idempotent ClientRequestToken, RotateSecret's valueless AWSPENDING version, CreatedDate in
 * whole seconds). It stands in at the SDK client, where no emulator runs here; the vault
 * contract suite runs against the real service whenever an endpoint is given.
 */
interface Version {
  /**
   * The SecretString; undefined for the version RotateSecret labels AWSPENDING before the
   * rotation function's createSecret gives it a value (DescribeSecret lists it, GetSecretValue
   * answers ResourceNotFoundException).
   */
  value: string | undefined;
  readonly stages: Set<string>;
  readonly created: Date;
  /** The RotationToken of the rotation that made this version: every PutSecretValue on it must carry it. */
  readonly rotationToken?: string;
}
interface Secret {
  readonly arn: string;
  readonly name: string;
  readonly versions: Map<string, Version>;
}

export interface FakeWrite {
  readonly command: "PutSecretValue" | "UpdateSecretVersionStage";
  readonly secretId: string;
  /** PutSecretValue: the ClientRequestToken (VersionId) written. */
  readonly versionId?: string;
  /** PutSecretValue: the RotationToken the call carried, when it carried one. */
  readonly rotationToken?: string;
}

export interface FakeSecretsManagerOptions {
  /** Stand in for every SecretsManagerClient built from now on, not only `client`. */
  readonly everyClient?: boolean;
  /**
   * CreatedDate in whole seconds (default true), as the service and other implementations
   * report it: two versions written within one second have the same CreatedDate.
   */
  readonly wholeSeconds?: boolean;
}

const meta = { $metadata: {} };

export class FakeSecretsManager {
  readonly client = new SecretsManagerClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  readonly mock;
  readonly secrets = new Map<string, Secret>();
  /** Every successful write call, in order: what "nothing written" is checked against. */
  readonly writes: FakeWrite[] = [];
  /** The service's clock; a test may replace it (freeze it, say) to make CreatedDates tie. */
  now: () => Date = () => new Date();
  readonly #wholeSeconds: boolean;

  constructor(options: FakeSecretsManagerOptions = {}) {
    this.#wholeSeconds = options.wholeSeconds ?? true;
    this.mock = options.everyClient === true ? mockClient(SecretsManagerClient) : mockClient(this.client);
    this.mock.on(CreateSecretCommand).callsFake((input) => this.#create(input.Name as string, input.SecretString, input.ClientRequestToken));
    this.mock.on(DescribeSecretCommand).callsFake((input) => {
      const s = this.#secret(input.SecretId as string);
      return { ARN: s.arn, Name: s.name, VersionIdsToStages: Object.fromEntries([...s.versions].map(([id, v]) => [id, [...v.stages]])) };
    });
    this.mock.on(GetSecretValueCommand).callsFake((input) => {
      const s = this.#secret(input.SecretId as string);
      const [id, v] = this.#find(s, input.VersionId, input.VersionStage ?? (input.VersionId ? undefined : "AWSCURRENT"));
      return { ARN: s.arn, Name: s.name, VersionId: id, SecretString: v.value, VersionStages: [...v.stages], CreatedDate: v.created };
    });
    this.mock.on(PutSecretValueCommand).callsFake((input) => {
      const s = this.#secret(input.SecretId as string);
      const token = input.ClientRequestToken ?? randomUUID();
      const existing = s.versions.get(token);
      checkRotationToken(existing, input.RotationToken);
      const first = ![...s.versions.values()].some((v) => v.value !== undefined);
      if (existing?.value !== undefined) {
        if (existing.value !== input.SecretString) throw new ResourceExistsException({ ...meta, message: "A resource with the ID you requested already exists." });
        return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...existing.stages] };
      }
      if (existing) {
        // RotateSecret's valueless version gets its value; its labels stay (AWSPENDING), others move only if asked.
        existing.value = input.SecretString as string;
      } else {
        s.versions.set(token, { value: input.SecretString as string, stages: new Set(), created: this.#stamp() });
      }
      for (const stage of input.VersionStages ?? ["AWSCURRENT"]) this.#attach(s, stage, token);
      // Documented PutSecretValue behaviour: the first version of a secret is AWSCURRENT, whatever was asked.
      if (first) this.#attach(s, "AWSCURRENT", token);
      this.writes.push({
        command: "PutSecretValue",
        secretId: input.SecretId as string,
        versionId: token,
        ...(input.RotationToken !== undefined && { rotationToken: input.RotationToken }),
      });
      return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...(s.versions.get(token)?.stages ?? [])] };
    });
    this.mock.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      const s = this.#secret(input.SecretId as string);
      const stage = input.VersionStage as string;
      const holder = [...s.versions].find(([, v]) => v.stages.has(stage))?.[0];
      if (input.MoveToVersionId !== undefined) {
        if (!s.versions.has(input.MoveToVersionId)) throw new ResourceNotFoundException({ ...meta, message: "version not found" });
        if (holder !== undefined && holder !== input.MoveToVersionId && input.RemoveFromVersionId !== holder) {
          throw new InvalidParameterException({ ...meta, message: `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}` });
        }
        this.#attach(s, stage, input.MoveToVersionId);
      } else if (input.RemoveFromVersionId !== undefined) {
        s.versions.get(input.RemoveFromVersionId)?.stages.delete(stage);
      }
      this.writes.push({ command: "UpdateSecretVersionStage", secretId: input.SecretId as string });
      return { ARN: s.arn, Name: s.name };
    });
  }

  /** Creates a secret; `value` undefined creates one with no version at all. */
  seed(name: string, value?: string): string {
    return this.#create(name, value).ARN;
  }

  /**
   * What RotateSecret does before it invokes the rotation function: a new VersionId (the
   * invocations' ClientRequestToken) labelled AWSPENDING with no value yet, and a RotationToken
   * that every PutSecretValue on that version must carry. Refused, as the service refuses it,
   * while an earlier rotation's AWSPENDING sits on a version other than AWSCURRENT's. Not a
   * write the vault made, so not in `writes`.
   */
  startRotation(secretId: string, options: { token?: string; rotationToken?: string } = {}): { token: string; rotationToken: string } {
    const s = this.#secret(secretId);
    const token = options.token ?? randomUUID();
    const rotationToken = options.rotationToken ?? randomUUID();
    const pending = [...s.versions].find(([, v]) => v.stages.has("AWSPENDING"));
    if (pending !== undefined && !pending[1].stages.has("AWSCURRENT")) {
      throw new InvalidRequestException({ ...meta, message: "A previous rotation isn't complete. That rotation will be reattempted." });
    }
    if (s.versions.has(token)) throw new ResourceExistsException({ ...meta, message: "A resource with the ID you requested already exists." });
    s.versions.set(token, { value: undefined, stages: new Set(), created: this.#stamp(), rotationToken });
    this.#attach(s, "AWSPENDING", token);
    return { token, rotationToken };
  }

  stages(secretId: string): Record<string, string[]> {
    return Object.fromEntries([...this.#secret(secretId).versions].map(([id, v]) => [id, [...v.stages].sort()]));
  }

  /** The RotationToken each PutSecretValue on `versionId` carried (undefined: it carried none), in order. */
  rotationTokensWritten(secretId: string, versionId: string): (string | undefined)[] {
    const s = this.#secret(secretId);
    return this.writes
      .filter((w) => w.command === "PutSecretValue" && w.versionId === versionId && this.#secret(w.secretId) === s)
      .map((w) => w.rotationToken);
  }

  #create(name: string, value?: string, token?: string): { ARN: string; Name: string; VersionId?: string } {
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-${randomUUID().slice(0, 6)}`;
    const secret: Secret = { arn, name, versions: new Map() };
    this.secrets.set(name, secret);
    if (value === undefined) return { ARN: arn, Name: name };
    const id = token ?? randomUUID();
    secret.versions.set(id, { value, stages: new Set(["AWSCURRENT"]), created: this.#stamp() });
    return { ARN: arn, Name: name, VersionId: id };
  }

  #stamp(): Date {
    const ms = this.now().getTime();
    return new Date(this.#wholeSeconds ? Math.floor(ms / 1000) * 1000 : ms);
  }

  #secret(id: string): Secret {
    const s = this.secrets.get(id) ?? [...this.secrets.values()].find((x) => x.arn === id);
    if (!s) throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
    return s;
  }

  /** A version without a value (RotateSecret's, before createSecret) is not found, by VersionId or by label. */
  #find(s: Secret, versionId?: string, stage?: string): [string, Version & { value: string }] {
    const hit = [...s.versions].find(([id, v]) => v.value !== undefined && (versionId === undefined || id === versionId) && (stage === undefined || v.stages.has(stage)));
    if (!hit) throw new ResourceNotFoundException({ ...meta, message: `Secrets Manager can't find the specified secret value for ${versionId ? "VersionId" : "staging label"}: ${versionId ?? stage}` });
    return hit as [string, Version & { value: string }];
  }

  #attach(s: Secret, stage: string, versionId: string): void {
    for (const [id, v] of s.versions) {
      if (id !== versionId && v.stages.delete(stage) && stage === "AWSCURRENT") this.#attach(s, "AWSPREVIOUS", id);
    }
    s.versions.get(versionId)?.stages.add(stage);
  }
}

/**
 * The service checks a RotationToken against the rotation that made the version: a write to a
 * rotation's version without it or with another one, or a RotationToken on a write that is no
 * rotation's, is refused. The service's exact answer is not documented; this model answers
 * AccessDeniedException (the token is how the service "validates the identity" of an assumed-role
 * rotation function, per the API reference), which pullkeeper classifies as access_denied, not
 * retryable. The message never quotes the token: the API reference marks it sensitive.
 */
function checkRotationToken(version: Version | undefined, given: string | undefined): void {
  const expected = version?.rotationToken;
  if (given === expected) return;
  const why =
    expected === undefined
      ? "the RotationToken does not belong to a rotation of this secret version"
      : given === undefined
        ? "a write to a version under rotation must carry the rotation's RotationToken"
        : "the RotationToken does not match the rotation of this secret version";
  throw new SecretsManagerServiceException({ name: "AccessDeniedException", $fault: "client", ...meta, message: `PutSecretValue refused: ${why}` });
}
