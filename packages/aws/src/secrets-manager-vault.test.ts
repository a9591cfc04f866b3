import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { credential } from "@pullkeeper/core";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { SecretsManagerVault } from "./secrets-manager-vault.js";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-AbCdEf";
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: {} });

function setup() {
  const client = new SecretsManagerClient({ region: "eu-west-1", maxAttempts: 1 });
  const mock = mockClient(client);
  mock.on(DescribeSecretCommand).resolves({ ARN, VersionIdsToStages: { old: ["AWSCURRENT"] } });
  mock.on(GetSecretValueCommand).resolves({ ARN, VersionId: "old", VersionStages: ["AWSCURRENT"], SecretString: JSON.stringify({ username: "AWS", password: "old" }) });
  return { vault: new SecretsManagerVault(client), mock };
}

describe("SecretsManagerVault request shapes and errors", () => {
  it("writes AWSPENDING with the request token as ClientRequestToken and the {username,password} document", async () => {
    const { vault, mock } = setup();
    mock.on(PutSecretValueCommand).resolves({ ARN, VersionId: "0b7c2d1e-0000-8000-a000-00000000000a" });
    await vault.stagePending("pullkeeper/prod", credential("AWS", "fresh"), "0b7c2d1e-0000-8000-a000-00000000000a");
    const input = mock.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(input).toEqual({
      SecretId: "pullkeeper/prod",
      ClientRequestToken: "0b7c2d1e-0000-8000-a000-00000000000a",
      SecretString: JSON.stringify({ username: "AWS", password: "fresh" }),
      VersionStages: ["AWSPENDING"],
    });
  });

  it("hands the invocation's RotationToken to PutSecretValue, and sends none when it has none", async () => {
    const { vault, mock } = setup();
    mock.on(PutSecretValueCommand).resolves({ ARN, VersionId: "0b7c2d1e-0000-8000-a000-00000000000a" });
    await vault.stagePending("pullkeeper/prod", credential("AWS", "fresh"), "0b7c2d1e-0000-8000-a000-00000000000a", { rotationToken: "rotation-token-1" });
    expect(mock.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toMatchObject({ ClientRequestToken: "0b7c2d1e-0000-8000-a000-00000000000a", RotationToken: "rotation-token-1" });
    await vault.stagePending("pullkeeper/prod", credential("AWS", "fresher"), "0b7c2d1e-0000-8000-a000-00000000000b", {});
    expect(mock.commandCalls(PutSecretValueCommand)[1]?.args[0].input).not.toHaveProperty("RotationToken");
  });

  it("gives the version RotateSecret listed as AWSPENDING without a value its value, even one equal to AWSCURRENT's", async () => {
    const { vault, mock } = setup();
    const token = "0b7c2d1e-0000-8000-a000-00000000000a";
    mock.on(DescribeSecretCommand).resolves({ ARN, VersionIdsToStages: { old: ["AWSCURRENT"], [token]: ["AWSPENDING"] } });
    mock.on(GetSecretValueCommand, { SecretId: "pullkeeper/prod", VersionId: token }).rejects(awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId"));
    mock.on(PutSecretValueCommand).resolves({ ARN, VersionId: token });
    const staged = await vault.stagePending("pullkeeper/prod", credential("AWS", "old"), token, { rotationToken: "rotation-token-1" });
    expect(staged).toEqual({ arn: ARN, versionId: token, outcome: "created" });
    expect(mock.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: "pullkeeper/prod",
      ClientRequestToken: token,
      SecretString: JSON.stringify({ username: "AWS", password: "old" }),
      VersionStages: ["AWSPENDING"],
      RotationToken: "rotation-token-1",
    });
  });

  it("refuses to revive a valueless version that no longer holds AWSPENDING, and writes nothing", async () => {
    const { vault, mock } = setup();
    const token = "0b7c2d1e-0000-8000-a000-00000000000a";
    mock.on(DescribeSecretCommand).resolves({ ARN, VersionIdsToStages: { old: ["AWSCURRENT"], [token]: [] } });
    mock.on(GetSecretValueCommand, { SecretId: "pullkeeper/prod", VersionId: token }).rejects(awsError("ResourceNotFoundException", "not found"));
    await expect(vault.stagePending("pullkeeper/prod", credential("AWS", "fresh"), token)).rejects.toMatchObject({ code: "version_not_pending" });
    expect(mock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it("reports AccessDenied (a missing kms:Decrypt, say) as access_denied, not as a bad secret", async () => {
    const { vault, mock } = setup();
    mock.on(GetSecretValueCommand).rejects(awsError("AccessDeniedException", "Access to KMS is not allowed"));
    await expect(vault.read("pullkeeper/prod", { stage: "AWSCURRENT" })).rejects.toMatchObject({ code: "access_denied", retryable: false });
  });

  it("reports throttling after the SDK's retries as throttled and retryable", async () => {
    const { vault, mock } = setup();
    mock.on(PutSecretValueCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    await expect(vault.stagePending("pullkeeper/prod", credential("AWS", "fresh"), "0b7c2d1e-0000-8000-a000-00000000000a")).rejects.toMatchObject({ code: "throttled", retryable: true });
  });

  it("refuses to stage over a secret that lacks username/password, and writes nothing", async () => {
    const { vault, mock } = setup();
    mock.on(GetSecretValueCommand).resolves({ ARN, VersionId: "old", SecretString: JSON.stringify({ host: "db", pass: "db-Secret-1" }) });
    const error = await vault.stagePending("pullkeeper/prod", credential("AWS", "fresh"), "0b7c2d1e-0000-8000-a000-00000000000a").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "invalid_credential" });
    expect((error as Error).message).not.toContain("db-Secret-1");
    expect(mock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});
