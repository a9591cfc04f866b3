import { CreateSecretCommand, type CreateSecretCommandInput, GetSecretValueCommand, type GetSecretValueCommandInput, PutSecretValueCommand, type PutSecretValueCommandInput, UpdateSecretVersionStageCommand, type UpdateSecretVersionStageCommandInput } from "@aws-sdk/client-secrets-manager";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@aws-sdk/types";
import { type Consumer, DeliveryError } from "@pullkeeper/core";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { awsError, deliveryContext, PASSWORD, secretArn, VERSION_ID, visible } from "../shared/testing.js";
import { copyRequestToken } from "./copy.js";
import { secretsManagerCopyPermissions } from "./permissions.js";
import { secretsManagerCopyTargetSchema } from "./schema.js";
import { SecretsManagerCopyTarget } from "./secrets-manager-copy-target.js";
import { FakeSecretsManager } from "./testing.js";

const consumer = (target: Record<string, unknown>): Consumer => ({ id: "ci-copy", registryId: "dockerhub", target: { kind: "secrets-manager-copy", ...target } });

function setup(name = "ci/dockerhub") {
  const sm = new FakeSecretsManager();
  sm.add(name);
  const regions: string[] = [];
  const target = new SecretsManagerCopyTarget({ secretsManager: (region) => (regions.push(region), sm.client) });
  return { sm, target, regions };
}

function expectHidden(value: unknown): void {
  const text = visible(value);
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(Buffer.from(`acme-ci:${PASSWORD}`).toString("base64"));
}

describe("SecretsManagerCopyTarget", () => {
  it("puts the mapped JSON with a token derived from (consumer, version), reads it back, and shows the value nowhere", async () => {
    const { sm, target, regions } = setup();
    const c = consumer({ secretId: "ci/dockerhub" });
    const outcome = await target.deliver(deliveryContext(c));

    const [put] = sm.inputs<PutSecretValueCommandInput>(PutSecretValueCommand);
    expect(put?.SecretId).toBe("ci/dockerhub");
    expect(put?.ClientRequestToken).toMatch(/^[0-9a-f]{64}$/);
    expect(put?.ClientRequestToken).toBe(copyRequestToken("ci-copy", VERSION_ID, { secretId: "ci/dockerhub", keys: { username: "username", password: "password" } }));
    expect(JSON.parse(put?.SecretString ?? "")).toEqual({ username: "acme-ci", password: PASSWORD });
    expect(put?.SecretBinary).toBeUndefined();
    expect(sm.inputs<GetSecretValueCommandInput>(GetSecretValueCommand)).toEqual([{ SecretId: "ci/dockerhub", VersionStage: "AWSCURRENT" }]);
    // A name without a region: the registry secret's region.
    expect(regions).toEqual(["eu-west-1"]);
    expect(outcome.status).toBe("verified");
    expect(outcome.detail).toContain("keys username, password");
    expectHidden(outcome);
  });

  it("writes the derived forms under the mapped keys", async () => {
    const { sm, target } = setup();
    await target.deliver(deliveryContext(consumer({ secretId: "ci/dockerhub", keys: { username: "user", password: "token", auth: "auth", registry: "server" } })));
    expect(JSON.parse(sm.current("ci/dockerhub") ?? "")).toEqual({ user: "acme-ci", token: PASSWORD, auth: Buffer.from(`acme-ci:${PASSWORD}`).toString("base64"), server: "docker.io" });
  });

  it("is idempotent: a retried delivery sends the same token and leaves one version; a new version gets a new token", async () => {
    const { sm, target } = setup();
    const c = consumer({ secretId: "ci/dockerhub" });
    await target.deliver(deliveryContext(c));
    await target.deliver(deliveryContext(c));
    const tokens = sm.inputs<PutSecretValueCommandInput>(PutSecretValueCommand).map((p) => p.ClientRequestToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(sm.secrets.get("ci/dockerhub")?.versions.size).toBe(1);
    await target.deliver({ ...deliveryContext(c), versionId: "EXAMPLE3-90ab-cdef-fedc-ba987SECRET3" });
    expect(sm.inputs<PutSecretValueCommandInput>(PutSecretValueCommand)[2]?.ClientRequestToken).not.toBe(tokens[0]);
    expect(sm.inputs<UpdateSecretVersionStageCommandInput>(UpdateSecretVersionStageCommand)).toEqual([]);
  });

  it("makes its version current again when another value took AWSCURRENT after it", async () => {
    const { sm, target } = setup();
    const c = consumer({ secretId: "ci/dockerhub" });
    await target.deliver(deliveryContext(c));
    const token = sm.inputs<PutSecretValueCommandInput>(PutSecretValueCommand)[0]?.ClientRequestToken;
    sm.overwrite("ci/dockerhub", '{"username":"someone","password":"else"}');
    const outcome = await target.deliver(deliveryContext(c));
    expect(sm.inputs<UpdateSecretVersionStageCommandInput>(UpdateSecretVersionStageCommand)).toEqual([
      { SecretId: "ci/dockerhub", VersionStage: "AWSCURRENT", MoveToVersionId: token, RemoveFromVersionId: "11111111-1111-4111-8111-111111111111" },
    ]);
    expect(JSON.parse(sm.current("ci/dockerhub") ?? "").username).toBe("acme-ci");
    expect(outcome.detail).toContain("moved AWSCURRENT back");
  });

  it("creates a missing secret by name only with createIfMissing, with the same token", async () => {
    const { sm, target } = setup("other");
    const error = await target.deliver(deliveryContext(consumer({ secretId: "ci/new" }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).code).toBe("not_found");
    expect((error as DeliveryError).retryable).toBe(false);
    expect((error as DeliveryError).message).toContain("createIfMissing");
    expect(sm.inputs(CreateSecretCommand)).toEqual([]);

    const outcome = await target.deliver(deliveryContext(consumer({ secretId: "ci/new", createIfMissing: true })));
    const [create] = sm.inputs<CreateSecretCommandInput>(CreateSecretCommand);
    expect(create?.Name).toBe("ci/new");
    expect(create?.ClientRequestToken).toBe(copyRequestToken("ci-copy", VERSION_ID, { secretId: "ci/new", keys: { username: "username", password: "password" } }));
    expect(JSON.parse(create?.SecretString ?? "")).toEqual({ username: "acme-ci", password: PASSWORD });
    expect(outcome.detail).toContain("created the secret");
    expectHidden(outcome);
    expectHidden(error);
  });

  it("assumes roleArn and writes with its credentials in the secret's region", async () => {
    const sm = new FakeSecretsManager("us-east-1", "210987654321");
    sm.add("ci/dockerhub");
    const sts = new STSClient({ region: "us-east-1", maxAttempts: 1 });
    const stsMock = mockClient(sts);
    stsMock.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "ASIAASSUMED", SecretAccessKey: "assumed", SessionToken: "session", Expiration: new Date("2030-01-01T00:00:00Z") } });
    const seen: { region: string; credentials: AwsCredentialIdentity | undefined }[] = [];
    const target = new SecretsManagerCopyTarget({ secretsManager: (region, credentials) => (seen.push({ region, credentials }), sm.client), sts: () => sts });
    await target.deliver(deliveryContext(consumer({ secretId: "ci/dockerhub", region: "us-east-1", roleArn: "arn:aws:iam::210987654321:role/pullkeeper-writer" })));
    expect(stsMock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([
      { RoleArn: "arn:aws:iam::210987654321:role/pullkeeper-writer", RoleSessionName: "pullkeeper-copy-ci-copy", DurationSeconds: 900 },
    ]);
    expect(seen).toEqual([{ region: "us-east-1", credentials: expect.objectContaining({ accessKeyId: "ASIAASSUMED", sessionToken: "session" }) }]);
  });

  it("classifies AccessDenied and throttling, without the value", async () => {
    const { sm, target } = setup();
    sm.fail(awsError("AccessDeniedException", "User is not authorized to perform: secretsmanager:PutSecretValue"));
    const denied = (await target.deliver(deliveryContext(consumer({ secretId: "ci/dockerhub" }))).catch((e: unknown) => e)) as DeliveryError;
    expect([denied.code, denied.retryable]).toEqual(["access_denied", false]);
    expect(denied.message).toContain("secretsmanager:PutSecretValue");
    sm.fail(awsError("ThrottlingException", "Rate exceeded"));
    const throttled = (await target.deliver(deliveryContext(consumer({ secretId: "ci/dockerhub" }))).catch((e: unknown) => e)) as DeliveryError;
    expect([throttled.code, throttled.retryable]).toEqual(["throttled", true]);
    expectHidden(denied);
    expectHidden(throttled);
  });

  it("refuses to copy onto the registry's own secret", async () => {
    const { target } = setup();
    const error = (await target.deliver(deliveryContext(consumer({ secretId: secretArn() }))).catch((e: unknown) => e)) as DeliveryError;
    expect([error.code, error.retryable]).toEqual(["invalid_target", false]);
    const byName = (await target.deliver(deliveryContext(consumer({ secretId: "pullkeeper/dockerhub" }))).catch((e: unknown) => e)) as DeliveryError;
    expect(byName.code).toBe("invalid_target");
  });

  it("counts against the secret's region", () => {
    const { target } = setup();
    expect(target.provider(consumer({ secretId: secretArn("us-east-2", "123456789012", "x") }))).toBe("aws:secretsmanager:us-east-2");
    expect(target.provider(consumer({ secretId: "x", region: "ap-south-1" }))).toBe("aws:secretsmanager:ap-south-1");
  });
});

describe("secrets-manager-copy schema", () => {
  const parse = (t: Record<string, unknown>) => secretsManagerCopyTargetSchema.safeParse({ kind: "secrets-manager-copy", ...t });
  it("defaults the mapping and createIfMissing", () => {
    expect(parse({ secretId: "ci/x" }).data).toMatchObject({ keys: { username: "username", password: "password" }, createIfMissing: false });
  });
  it("refuses a mapping without the password, a key written twice, unknown keys, createIfMissing with an ARN, and a region the ARN contradicts", () => {
    expect(parse({ secretId: "ci/x", keys: { username: "u" } }).success).toBe(false);
    expect(parse({ secretId: "ci/x", keys: { username: "k", password: "k" } }).success).toBe(false);
    expect(parse({ secretId: "ci/x", keys: { password: "p", token: "t" } }).success).toBe(false);
    expect(parse({ secretId: "ci/x", extra: true }).success).toBe(false);
    expect(parse({ secretId: secretArn(), createIfMissing: true }).success).toBe(false);
    expect(parse({ secretId: secretArn("eu-west-1"), region: "us-east-1" }).success).toBe(false);
    expect(parse({ secretId: "ci/x", roleArn: "arn:aws:iam::123:role/x" }).success).toBe(false);
  });
});

describe("secrets-manager-copy permissions", () => {
  const at = { partition: "aws", region: "eu-west-1", account: "123456789012" };
  const pc = (index: number, target: Record<string, unknown>, fallbackRegion = "eu-west-1") => ({ index, id: `c${index}`, target: { kind: "secrets-manager-copy", ...target }, fallbackRegion });
  it("grants exactly the named secrets (a name: its -?????? ARN), CreateSecret only where asked, AssumeRole for a role's", () => {
    const statements = secretsManagerCopyPermissions.deliver?.(
      [
        pc(0, { secretId: "ci/a" }),
        pc(1, { secretId: "ci/b", region: "us-east-1", createIfMissing: true }),
        pc(2, { secretId: secretArn("ap-south-1", "123456789012", "ci/c") }),
        pc(3, { secretId: "ci/d", roleArn: "arn:aws:iam::210987654321:role/writer" }),
      ],
      at,
    );
    expect(statements).toEqual([
      {
        actions: ["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        resources: [
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/a-??????",
          "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/b-??????",
          secretArn("ap-south-1", "123456789012", "ci/c"),
        ],
      },
      { actions: ["secretsmanager:CreateSecret"], resources: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/b-??????"] },
      { actions: ["sts:AssumeRole"], resources: ["arn:aws:iam::210987654321:role/writer"] },
    ]);
  });
});
