/**
 * Test support (imported by tests only): a Secrets Manager stand-in behind aws-sdk-client-mock
 * with the semantics a copy relies on — a ClientRequestToken names a version; the same token with
 * the same value is a no-op, with another value ResourceExistsException; a new version takes
 * AWSCURRENT; UpdateSecretVersionStage moves it — recording every request it was sent.
 */
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { awsError } from "../shared/testing.js";

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  readonly versions: Map<string, string>;
  current: string | undefined;
}

export class FakeSecretsManager {
  readonly client: SecretsManagerClient;
  readonly mock;
  readonly secrets = new Map<string, StoredSecret>();
  readonly #faults: Error[] = [];

  constructor(readonly region = "eu-west-1", readonly account = "123456789012") {
    this.client = new SecretsManagerClient({ region, maxAttempts: 1 });
    this.mock = mockClient(this.client);
    this.mock.on(PutSecretValueCommand).callsFake((input: { SecretId: string; ClientRequestToken: string; SecretString: string }) => {
      this.#fault();
      const secret = this.#find(input.SecretId);
      this.#addVersion(secret, input.ClientRequestToken, input.SecretString);
      return { ARN: secret.arn, Name: secret.name, VersionId: input.ClientRequestToken, VersionStages: secret.current === input.ClientRequestToken ? ["AWSCURRENT"] : [] };
    });
    this.mock.on(CreateSecretCommand).callsFake((input: { Name: string; ClientRequestToken: string; SecretString: string }) => {
      this.#fault();
      let secret = this.secrets.get(input.Name);
      if (secret === undefined) secret = this.add(input.Name);
      else if (!secret.versions.has(input.ClientRequestToken)) throw awsError("ResourceExistsException", `The operation failed because the secret ${input.Name} already exists.`);
      this.#addVersion(secret, input.ClientRequestToken, input.SecretString);
      return { ARN: secret.arn, Name: secret.name, VersionId: input.ClientRequestToken };
    });
    this.mock.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
      this.#fault();
      const secret = this.#find(input.SecretId);
      if (secret.current === undefined) throw awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
      return { ARN: secret.arn, Name: secret.name, VersionId: secret.current, SecretString: secret.versions.get(secret.current), VersionStages: ["AWSCURRENT"], CreatedDate: new Date() };
    });
    this.mock.on(UpdateSecretVersionStageCommand).callsFake((input: { SecretId: string; MoveToVersionId: string }) => {
      this.#fault();
      const secret = this.#find(input.SecretId);
      if (!secret.versions.has(input.MoveToVersionId)) throw awsError("InvalidParameterException", "The version ID doesn't exist.");
      secret.current = input.MoveToVersionId;
      return { ARN: secret.arn, Name: secret.name };
    });
  }

  /** Creates an (empty, or holding `value`) secret by name; returns it. */
  add(name: string, value?: string): StoredSecret {
    const secret: StoredSecret = { arn: `arn:aws:secretsmanager:${this.region}:${this.account}:secret:${name}-Q1w2E3`, name, versions: new Map(), current: undefined };
    this.secrets.set(name, secret);
    if (value !== undefined) this.#addVersion(secret, "00000000-0000-4000-8000-000000000000", value);
    return secret;
  }

  /** Someone else writes a value, which becomes AWSCURRENT. */
  overwrite(name: string, value: string, token = "11111111-1111-4111-8111-111111111111"): void {
    this.#addVersion(this.#find(name), token, value);
  }

  /** AWSCURRENT's value of a secret, or undefined. */
  current(name: string): string | undefined {
    const secret = this.secrets.get(name);
    return secret?.current === undefined ? undefined : secret.versions.get(secret.current);
  }

  /** The next call fails with `error`. */
  fail(error: Error): void {
    this.#faults.push(error);
  }

  /** The inputs of every call of one command. */
  inputs<T>(command: new (input: T) => unknown): T[] {
    return this.mock.commandCalls(command as never).map((c) => c.args[0].input as T);
  }

  #fault(): void {
    const fault = this.#faults.shift();
    if (fault !== undefined) throw fault;
  }

  #find(secretId: string): StoredSecret {
    for (const secret of this.secrets.values()) if (secret.name === secretId || secret.arn === secretId) return secret;
    throw awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
  }

  #addVersion(secret: StoredSecret, token: string, value: string): void {
    const existing = secret.versions.get(token);
    if (existing !== undefined) {
      if (existing !== value) throw awsError("ResourceExistsException", `A resource with the ID you requested already exists (version ${token}).`);
      return;
    }
    secret.versions.set(token, value);
    secret.current = token;
  }
}
