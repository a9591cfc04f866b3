import { EcrTokenSource } from "@pullkeeper/aws";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixtureText } from "../support/fixtures.js";
import { type LocalServer, startServer } from "../support/http.js";

// The real SDK clients, pointed at loopback servers through the standard AWS_ENDPOINT_URL_* variables.
const saved = { ...process.env };
let ecr: LocalServer;
let sts: LocalServer;

beforeEach(async () => {
  ecr = await startServer((req, res) => {
    res.setHeader("content-type", "application/x-amz-json-1.1");
    res.end(fixtureText("aws-container-registries/ecr-getauthorizationtoken.response.aws-cli-example.verbatim.json"));
  });
  sts = await startServer((_req, res) => {
    res.setHeader("content-type", "text/xml");
    res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
      <AccessKeyId>ASIAASSUMED</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-session</SessionToken>
      <Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`);
  });
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: "AKIADEFAULT",
    AWS_SECRET_ACCESS_KEY: "default-secret",
    AWS_ENDPOINT_URL_ECR: ecr.url,
    AWS_ENDPOINT_URL_STS: sts.url,
  });
});
afterEach(async () => {
  process.env = { ...saved };
  await Promise.all([ecr.close(), sts.close()]);
});

describe("EcrTokenSource through the SDK's wire protocol", () => {
  it("parses the real GetAuthorizationToken payload (epoch-seconds expiresAt, base64 AWS:<password>)", async () => {
    const token = await new EcrTokenSource({ clock: { now: () => new Date("2015-11-29T21:30:53Z") } }).mint({ kind: "ecr", account: "123456789012", region: "us-west-2" });
    expect(token.expiresAt.toISOString()).toBe("2015-11-30T09:30:53.241Z");
    expect(token.credential.username).toBe("AWS");
    expect(token.credential.password.reveal()).toBe("C");
    expect(token.proxyEndpoint).toBe("https://<aws_account_id>.dkr.ecr.us-west-2.amazonaws.com");
    expect(ecr.received).toHaveLength(1);
    expect(ecr.received[0]?.headers["x-amz-target"]).toBe("AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken");
    expect(ecr.received[0]?.headers.authorization).toContain("Credential=AKIADEFAULT/");
    expect(ecr.received[0]?.headers.authorization).toContain("/us-west-2/ecr/aws4_request");
    expect(sts.received).toHaveLength(0);
  });

  it("assumes the configured role first and signs the ECR call with its credentials", async () => {
    await new EcrTokenSource().mint({ kind: "ecr", account: "210987654321", region: "eu-west-1", roleArn: "arn:aws:iam::210987654321:role/pull-only", externalId: "ext-123" });
    expect(sts.received).toHaveLength(1);
    const form = new URLSearchParams(sts.received[0]?.body);
    expect(form.get("Action")).toBe("AssumeRole");
    expect(form.get("RoleArn")).toBe("arn:aws:iam::210987654321:role/pull-only");
    expect(form.get("ExternalId")).toBe("ext-123");
    expect(form.get("RoleSessionName")).toBe("pullkeeper-refresh");
    expect(ecr.received[0]?.headers.authorization).toContain("Credential=ASIAASSUMED/");
    expect(ecr.received[0]?.headers["x-amz-security-token"]).toBe("assumed-session");
  });
});
