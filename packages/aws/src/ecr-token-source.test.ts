import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicToken } from "@aws-sdk/client-ecr-public";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { EcrTokenSource } from "./ecr-token-source.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: {} });

describe("EcrTokenSource", () => {
  it("mints ECR Public tokens through its own API in us-east-1", async () => {
    const client = new ECRPUBLICClient({ region: "us-east-1" });
    const mock = mockClient(client);
    mock.on(GetPublicToken).resolves({ authorizationData: { authorizationToken: b64("AWS:public-pass"), expiresAt: new Date("2026-11-24T08:00:00Z") } });
    const regions: string[] = [];
    const token = await new EcrTokenSource({
      ecrPublic: () => client,
      ecr: (region) => {
        regions.push(region);
        return new ECRClient({ region });
      },
    }).mint({ kind: "ecr-public", account: "123456789012", region: "us-east-1" });
    expect(token.credential.password.reveal()).toBe("public-pass");
    expect(token.proxyEndpoint).toBe("https://public.ecr.aws");
    expect(regions).toEqual([]);
  });

  it("classifies AccessDenied as a non-retryable access_denied error naming the scope", async () => {
    const client = new ECRClient({ region: "eu-west-1" });
    mockClient(client).on(GetAuthorizationTokenCommand).rejects(awsError("AccessDeniedException", "User is not authorized to perform: ecr:GetAuthorizationToken"));
    const error = await new EcrTokenSource({ ecr: () => client }).mint({ kind: "ecr", account: "123456789012", region: "eu-west-1" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "access_denied", retryable: false });
    expect((error as Error).message).toContain("ecr token for account 123456789012 in eu-west-1");
  });

  it("classifies throttling as retryable", async () => {
    const client = new ECRClient({ region: "eu-west-1", maxAttempts: 1 });
    mockClient(client).on(GetAuthorizationTokenCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    await expect(new EcrTokenSource({ ecr: () => client }).mint({ kind: "ecr", account: "123456789012", region: "eu-west-1" })).rejects.toMatchObject({ code: "throttled", retryable: true });
  });

  it("rejects a token that is not base64 of user:password without echoing it", async () => {
    const client = new ECRClient({ region: "eu-west-1" });
    mockClient(client).on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: b64("no-colon-here"), expiresAt: new Date() }] });
    const error = await new EcrTokenSource({ ecr: () => client }).mint({ kind: "ecr", account: "123456789012", region: "eu-west-1" }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/not base64 of user:password/);
    expect((error as Error).message).not.toContain("no-colon-here");
  });

  it("assumes a role once for its scopes while the credentials last, again when they near expiry, and again after a failure", async () => {
    let now = new Date("2026-12-02T12:00:00Z");
    const sts = new STSClient({ region: "eu-west-1", maxAttempts: 1 });
    const assumed: string[] = [];
    let fail = false;
    mockClient(sts)
      .on(AssumeRoleCommand)
      .callsFake((input: { RoleArn: string }) => {
        assumed.push(input.RoleArn);
        if (fail) throw awsError("AccessDenied", "not authorized to perform: sts:AssumeRole");
        return { Credentials: { AccessKeyId: "ASIA", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date(now.getTime() + 15 * 60_000) } };
      });
    const ecr = new ECRClient({ region: "eu-west-1" });
    mockClient(ecr).on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: b64("AWS:p"), expiresAt: new Date("2026-12-03T00:00:00Z") }] });
    const source = new EcrTokenSource({ clock: { now: () => now }, sts: () => sts, ecr: () => ecr });
    const role = "arn:aws:iam::111111111111:role/pull";
    const scope = (region: string, roleArn = role) => ({ kind: "ecr" as const, account: "111111111111", region, roleArn });

    await Promise.all([source.mint(scope("eu-west-1")), source.mint(scope("us-east-1")), source.mint(scope("ap-south-1"))]);
    expect(assumed).toEqual([role]);
    await source.mint(scope("eu-west-1", "arn:aws:iam::111111111111:role/other"));
    expect(assumed).toHaveLength(2);

    now = new Date(now.getTime() + 11 * 60_000); // 4 minutes left: renewed
    await source.mint(scope("eu-west-1"));
    expect(assumed).toHaveLength(3);

    now = new Date(now.getTime() + 20 * 60_000);
    fail = true;
    await expect(source.mint(scope("eu-west-1"))).rejects.toMatchObject({ code: "access_denied" });
    fail = false;
    await source.mint(scope("eu-west-1"));
    expect(assumed).toHaveLength(5);
  });
});
