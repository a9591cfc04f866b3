import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { randomUUID } from "node:crypto";

/**
 * An in-memory model of the Secrets Manager calls pullkeeper makes, with the service's
 * documented semantics (labels on one version at a time, AWSPREVIOUS follows AWSCURRENT,
 * idempotent ClientRequestToken). It stands in at the SDK client, where no emulator runs here;
 * the vault contract suite runs against the real service whenever an endpoint is given.
 */
interface Version {
  readonly value: string;
  readonly stages: Set<string>;
  readonly created: Date;
}
interface Secret {
  readonly arn: string;
  readonly name: string;
  readonly versions: Map<string, Version>;
}

const meta = { $metadata: {} };

export class FakeSecretsManager {
  readonly client = new SecretsManagerClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  readonly mock;
  readonly secrets = new Map<string, Secret>();
  /** Every successful write call, in order: what "nothing written" is checked against. */
  readonly writes: { command: string; secretId: string }[] = [];

  /** everyClient: stand in for every SecretsManagerClient built from now on, not only `client`. */
  constructor(options: { everyClient?: boolean } = {}) {
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
      if (existing) {
        if (existing.value !== input.SecretString) throw new ResourceExistsException({ ...meta, message: "A resource with the ID you requested already exists." });
        return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...existing.stages] };
      }
      const first = s.versions.size === 0;
      s.versions.set(token, { value: input.SecretString as string, stages: new Set(), created: new Date() });
      for (const stage of input.VersionStages ?? ["AWSCURRENT"]) this.#attach(s, stage, token);
      // Documented PutSecretValue behaviour: the first version of a secret is AWSCURRENT, whatever was asked.
      if (first) this.#attach(s, "AWSCURRENT", token);
      this.writes.push({ command: "PutSecretValue", secretId: input.SecretId as string });
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

  stages(secretId: string): Record<string, string[]> {
    return Object.fromEntries([...this.#secret(secretId).versions].map(([id, v]) => [id, [...v.stages].sort()]));
  }

  #create(name: string, value?: string, token?: string): { ARN: string; Name: string; VersionId?: string } {
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-${randomUUID().slice(0, 6)}`;
    const secret: Secret = { arn, name, versions: new Map() };
    this.secrets.set(name, secret);
    if (value === undefined) return { ARN: arn, Name: name };
    const id = token ?? randomUUID();
    secret.versions.set(id, { value, stages: new Set(["AWSCURRENT"]), created: new Date() });
    return { ARN: arn, Name: name, VersionId: id };
  }

  #secret(id: string): Secret {
    const s = this.secrets.get(id) ?? [...this.secrets.values()].find((x) => x.arn === id);
    if (!s) throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
    return s;
  }

  #find(s: Secret, versionId?: string, stage?: string): [string, Version] {
    const hit = [...s.versions].find(([id, v]) => (versionId === undefined || id === versionId) && (stage === undefined || v.stages.has(stage)));
    if (!hit) throw new ResourceNotFoundException({ ...meta, message: `Secrets Manager can't find the specified secret value for ${versionId ? "VersionId" : "staging label"}: ${versionId ?? stage}` });
    return hit;
  }

  #attach(s: Secret, stage: string, versionId: string): void {
    for (const [id, v] of s.versions) {
      if (id !== versionId && v.stages.delete(stage) && stage === "AWSCURRENT") this.#attach(s, "AWSPREVIOUS", id);
    }
    s.versions.get(versionId)?.stages.add(stage);
  }
}
