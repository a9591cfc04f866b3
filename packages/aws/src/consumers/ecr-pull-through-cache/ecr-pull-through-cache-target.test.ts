import { ECRClient, ValidatePullThroughCacheRuleCommand, type ValidatePullThroughCacheRuleCommandOutput } from "@aws-sdk/client-ecr";
import { PutSecretValueCommand, type PutSecretValueCommandInput } from "@aws-sdk/client-secrets-manager";
import { type Consumer, DeliveryError } from "@pullkeeper/core";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { FakeSecretsManager } from "../secrets-manager-copy/testing.js";
import { ACCOUNT, awsError, deliveryContext, PASSWORD, visible } from "../shared/testing.js";
import { EcrPullThroughCacheTarget } from "./ecr-pull-through-cache-target.js";
import { ecrPullThroughCachePermissions } from "./permissions.js";
import { ecrPullThroughCacheTargetSchema } from "./schema.js";

const consumer = (target: Record<string, unknown>): Consumer => ({ id: "ptc-hub", registryId: "dockerhub", target: { kind: "ecr-pull-through-cache", ecrRepositoryPrefix: "docker-hub", region: "us-east-1", ...target } });

function setup(answer: (secretArn: string) => Partial<ValidatePullThroughCacheRuleCommandOutput> | Error) {
  const sm = new FakeSecretsManager("us-east-1");
  const secret = sm.add("ecr-pullthroughcache/docker-hub");
  const ecr = new ECRClient({ region: "us-east-1", maxAttempts: 1 });
  const ecrMock = mockClient(ecr);
  const a = answer(secret.arn);
  if (a instanceof Error) ecrMock.on(ValidatePullThroughCacheRuleCommand).rejects(a);
  else ecrMock.on(ValidatePullThroughCacheRuleCommand).resolves({ $metadata: {}, ...a });
  const regions: string[] = [];
  const target = new EcrPullThroughCacheTarget({ secretsManager: (region) => (regions.push(region), sm.client), ecr: (region) => (regions.push(`ecr:${region}`), ecr) });
  return { sm, secret, ecrMock, target, regions };
}

const valid = (arn: string) => ({ ecrRepositoryPrefix: "docker-hub", registryId: ACCOUNT, upstreamRegistryUrl: "registry-1.docker.io", credentialArn: arn, isValid: true });

describe("EcrPullThroughCacheTarget", () => {
  it("writes {username, accessToken} to ecr-pullthroughcache/<prefix> in the rule's region, then validates the rule", async () => {
    const { sm, ecrMock, target, regions } = setup(valid);
    const outcome = await target.deliver(deliveryContext(consumer({})));
    const [put] = sm.inputs<PutSecretValueCommandInput>(PutSecretValueCommand);
    expect(put?.SecretId).toBe("ecr-pullthroughcache/docker-hub");
    expect(put?.ClientRequestToken).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(put?.SecretString ?? "")).toEqual({ username: "acme-ci", accessToken: PASSWORD });
    expect(ecrMock.commandCalls(ValidatePullThroughCacheRuleCommand).map((c) => c.args[0].input)).toEqual([{ ecrRepositoryPrefix: "docker-hub" }]);
    expect(regions).toEqual(["us-east-1", "ecr:us-east-1"]);
    expect(outcome.status).toBe("verified");
    expect(outcome.detail).toContain("validated (isValid)");
    expect(visible(outcome)).not.toContain(PASSWORD);
  });

  it("passes registryId and an explicit secretId through", async () => {
    const sm = new FakeSecretsManager("us-east-1");
    const secret = sm.add("ecr-pullthroughcache/hub-creds");
    const ecr = new ECRClient({ region: "us-east-1", maxAttempts: 1 });
    const ecrMock = mockClient(ecr);
    ecrMock.on(ValidatePullThroughCacheRuleCommand).resolves(valid(secret.arn));
    const target = new EcrPullThroughCacheTarget({ secretsManager: () => sm.client, ecr: () => ecr });
    await target.deliver(deliveryContext(consumer({ secretId: "ecr-pullthroughcache/hub-creds", registryId: ACCOUNT })));
    expect(sm.inputs<PutSecretValueCommandInput>(PutSecretValueCommand)[0]?.SecretId).toBe("ecr-pullthroughcache/hub-creds");
    expect(ecrMock.commandCalls(ValidatePullThroughCacheRuleCommand)[0]?.args[0].input).toEqual({ ecrRepositoryPrefix: "docker-hub", registryId: ACCOUNT });
  });

  it("a rule that does not validate fails the delivery for good with ECR's failure, without the value", async () => {
    const { target } = setup((arn) => ({ ...valid(arn), isValid: false, failure: "Failed to authenticate with upstream registry: 401 Unauthorized" }));
    const error = (await target.deliver(deliveryContext(consumer({}))).catch((e: unknown) => e)) as DeliveryError;
    expect(error).toBeInstanceOf(DeliveryError);
    expect([error.code, error.retryable]).toEqual(["verification_failed", false]);
    expect(error.message).toContain("401 Unauthorized");
    expect(visible(error)).not.toContain(PASSWORD);
  });

  it("a rule that reads another secret fails naming both", async () => {
    const { target } = setup(() => valid(`arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:ecr-pullthroughcache/other-Zz9Yy8`));
    const error = (await target.deliver(deliveryContext(consumer({}))).catch((e: unknown) => e)) as DeliveryError;
    expect([error.code, error.retryable]).toEqual(["wiring_secret_reference", false]);
    expect(error.message).toContain("ecr-pullthroughcache/other-Zz9Yy8");
  });

  it("classifies a missing rule (not retryable) and ECR throttling (retryable)", async () => {
    const missing = setup(() => awsError("PullThroughCacheRuleNotFoundException", "The pull through cache rule was not found"));
    const e1 = (await missing.target.deliver(deliveryContext(consumer({}))).catch((e: unknown) => e)) as DeliveryError;
    expect([e1.code, e1.retryable]).toEqual(["not_found", false]);
    const throttled = setup(() => awsError("ThrottlingException", "Rate exceeded"));
    const e2 = (await throttled.target.deliver(deliveryContext(consumer({}))).catch((e: unknown) => e)) as DeliveryError;
    expect([e2.code, e2.retryable]).toEqual(["throttled", true]);
  });
});

describe("ecr-pull-through-cache schema", () => {
  const parse = (t: Record<string, unknown>) => ecrPullThroughCacheTargetSchema.safeParse({ kind: "ecr-pull-through-cache", ecrRepositoryPrefix: "docker-hub", region: "us-east-1", ...t });
  it("accepts the default secret and ROOT", () => {
    expect(parse({}).success).toBe(true);
    expect(parse({ ecrRepositoryPrefix: "ROOT" }).success).toBe(true);
  });
  it("refuses a secret outside ecr-pullthroughcache/, in another region or account than the rule, and a bad prefix", () => {
    const bad = (t: Record<string, unknown>) => parse(t).error?.issues.map((i) => i.message).join("; ") ?? "";
    expect(bad({ secretId: "pullkeeper/hub" })).toContain("ecr-pullthroughcache/");
    expect(bad({ secretId: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf` })).toContain("region");
    expect(bad({ secretId: `arn:aws:secretsmanager:us-east-1:210987654321:secret:ecr-pullthroughcache/hub-AbCdEf`, registryId: ACCOUNT })).toContain("only in the rule's own account");
    expect(parse({ ecrRepositoryPrefix: "Docker_Hub!" }).success).toBe(false);
    expect(parse({ region: undefined }).success).toBe(false);
  });
});

describe("ecr-pull-through-cache permissions", () => {
  const at = { partition: "aws", region: "eu-west-1", account: ACCOUNT };
  const pc = (index: number, target: Record<string, unknown>) => ({ index, id: `c${index}`, target: { kind: "ecr-pull-through-cache", ecrRepositoryPrefix: "docker-hub", ...target }, fallbackRegion: "eu-west-1" });
  it("grants the rule's secret in each region and ValidatePullThroughCacheRule on each registry", () => {
    expect(ecrPullThroughCachePermissions.deliver?.([pc(0, { region: "us-east-1" }), pc(1, { region: "eu-west-1", createIfMissing: true })], at)).toEqual([
      {
        actions: ["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        resources: [`arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-??????`, `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-??????`],
      },
      { actions: ["secretsmanager:CreateSecret"], resources: [`arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-??????`] },
      { actions: ["ecr:ValidatePullThroughCacheRule"], resources: [`arn:aws:ecr:us-east-1:${ACCOUNT}:registry/${ACCOUNT}`, `arn:aws:ecr:eu-west-1:${ACCOUNT}:registry/${ACCOUNT}`] },
    ]);
  });
  it("refuses a rule in another account, saying why", () => {
    expect(() => ecrPullThroughCachePermissions.deliver?.([pc(0, { region: "us-east-1", registryId: "210987654321" })], at)).toThrow(/only|nowhere else/);
  });
});
