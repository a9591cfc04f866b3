import type { ServerResponse } from "node:http";
import { credential, type DeliveryContext } from "@pullkeeper/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EcrPullThroughCacheTarget } from "../../packages/aws/src/consumers/ecr-pull-through-cache/ecr-pull-through-cache-target.js";
import { SecretsManagerCopyTarget } from "../../packages/aws/src/consumers/secrets-manager-copy/secrets-manager-copy-target.js";
import { type LocalServer, type Received, startServer } from "../support/http.js";

// The copy targets' default clients (Secrets Manager, STS, ECR), pointed at loopback servers through the standard AWS_ENDPOINT_URL_* variables.
const saved = { ...process.env };
const PASSWORD = "s3cr3t-ENDPOINT-pa55w0rd";
let sm: LocalServer;
let sts: LocalServer;
let ecr: LocalServer;

function secretsManagerAnswer(req: Received, res: ServerResponse, held: { value?: string | undefined; token?: string | undefined }): void {
  const op = String(req.headers["x-amz-target"]).replace(/^.*\./, "");
  const input = JSON.parse(req.body) as { SecretId: string; ClientRequestToken?: string; SecretString?: string };
  const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${input.SecretId}-AbCdEf`;
  res.setHeader("content-type", "application/x-amz-json-1.1");
  if (op === "PutSecretValue") {
    held.value = input.SecretString;
    held.token = input.ClientRequestToken;
    res.end(JSON.stringify({ ARN: arn, Name: input.SecretId, VersionId: input.ClientRequestToken, VersionStages: ["AWSCURRENT"] }));
  } else {
    res.end(JSON.stringify({ ARN: arn, Name: input.SecretId, VersionId: held.token, SecretString: held.value, VersionStages: ["AWSCURRENT"], CreatedDate: 1767225600 }));
  }
}

beforeEach(async () => {
  const held: { value?: string | undefined; token?: string | undefined } = {};
  sm = await startServer((req, res) => secretsManagerAnswer(req, res, held));
  sts = await startServer((_req, res) => {
    res.setHeader("content-type", "text/xml");
    res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
      <AccessKeyId>ASIAASSUMED</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-session</SessionToken>
      <Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`);
  });
  ecr = await startServer((_req, res) => {
    res.setHeader("content-type", "application/x-amz-json-1.1");
    res.end(
      JSON.stringify({
        ecrRepositoryPrefix: "docker-hub",
        registryId: "123456789012",
        upstreamRegistryUrl: "registry-1.docker.io",
        credentialArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf",
        isValid: true,
      }),
    );
  });
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: "AKIADEFAULT",
    AWS_SECRET_ACCESS_KEY: "default-secret",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ENDPOINT_URL_ECR: ecr.url,
  });
});
afterEach(async () => {
  process.env = { ...saved };
  await Promise.all([sm.close(), sts.close(), ecr.close()]);
});

function context(target: { kind: string } & Record<string, unknown>): DeliveryContext {
  return {
    consumer: { id: "endpoint-copy", registryId: "dockerhub", target },
    registry: { id: "dockerhub", host: "docker.io", kind: "dockerhub", source: { type: "managed-secret" }, secret: "pullkeeper/dockerhub", verify: {} },
    secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/dockerhub-Zz9Yy8",
    versionId: "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1",
    credential: credential("acme-ci", PASSWORD),
  };
}

describe("the copy targets' default clients honour AWS_ENDPOINT_URL_*", () => {
  it("secrets-manager-copy: AssumeRole at the STS endpoint, then Secrets Manager signed with the assumed credentials", async () => {
    const outcome = await new SecretsManagerCopyTarget().deliver(
      context({ kind: "secrets-manager-copy", secretId: "ci/dockerhub", region: "us-east-1", roleArn: "arn:aws:iam::123456789012:role/pullkeeper-writer" }),
    );
    expect(outcome.status).toBe("verified");
    expect(sts.received).toHaveLength(1);
    expect(new URLSearchParams(sts.received[0]?.body).get("RoleArn")).toBe("arn:aws:iam::123456789012:role/pullkeeper-writer");
    expect(sm.received.map((r) => r.headers["x-amz-target"])).toEqual(["secretsmanager.PutSecretValue", "secretsmanager.GetSecretValue"]);
    expect(sm.received[0]?.headers.authorization).toContain("Credential=ASIAASSUMED/");
    expect(sm.received[0]?.headers.authorization).toContain("/us-east-1/secretsmanager/aws4_request");
  });

  it("ecr-pull-through-cache: Secrets Manager and ECR at their endpoints", async () => {
    const outcome = await new EcrPullThroughCacheTarget().deliver(context({ kind: "ecr-pull-through-cache", ecrRepositoryPrefix: "docker-hub", region: "us-east-1" }));
    expect(outcome.status).toBe("verified");
    expect(sm.received.map((r) => r.headers["x-amz-target"])).toEqual(["secretsmanager.PutSecretValue", "secretsmanager.GetSecretValue"]);
    expect(JSON.parse(sm.received[0]?.body ?? "{}")).toMatchObject({ SecretId: "ecr-pullthroughcache/docker-hub" });
    expect(ecr.received.map((r) => r.headers["x-amz-target"])).toEqual(["AmazonEC2ContainerRegistry_V20150921.ValidatePullThroughCacheRule"]);
    expect(JSON.parse(ecr.received[0]?.body ?? "{}")).toEqual({ ecrRepositoryPrefix: "docker-hub" });
    expect(ecr.received[0]?.headers.authorization).toContain("Credential=AKIADEFAULT/");
    expect(sts.received).toHaveLength(0);
  });
});
