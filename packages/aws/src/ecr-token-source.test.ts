import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicToken } from "@aws-sdk/client-ecr-public";
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
});
