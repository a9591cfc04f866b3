import { CreateSecretCommand, DeleteSecretCommand, DescribeSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretsManagerVault } from "@pullkeeper/aws";
import { randomUUID } from "node:crypto";
import { afterAll, describe, it } from "vitest";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";
import { describeVaultContract } from "./vault-contract.js";

describeVaultContract("SecretsManagerVault over an in-memory Secrets Manager model", async () => {
  const sm = new FakeSecretsManager();
  return {
    vault: new SecretsManagerVault(sm.client),
    seed: async (raw) => sm.seed(`pullkeeper/contract-${randomUUID()}`, raw),
    stages: async (id) => sm.stages(id),
  };
});

// Any Secrets-Manager-compatible endpoint (AWS itself, or an emulator) runs the same suite.
const endpoint = process.env.PULLKEEPER_TEST_AWS_ENDPOINT;
if (endpoint) {
  const client = new SecretsManagerClient({ endpoint, region: process.env.AWS_REGION ?? "us-east-1" });
  const created: string[] = [];
  afterAll(async () => {
    await Promise.allSettled(created.map((id) => client.send(new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }))));
  });
  describeVaultContract(`SecretsManagerVault against ${endpoint}`, async () => ({
    vault: new SecretsManagerVault(client),
    seed: async (raw) => {
      const out = await client.send(new CreateSecretCommand({ Name: `pullkeeper-contract-${randomUUID()}`, ...(raw !== undefined && { SecretString: raw }) }));
      created.push(out.ARN as string);
      return out.ARN as string;
    },
    stages: async (id) => {
      const out = await client.send(new DescribeSecretCommand({ SecretId: id }));
      return Object.fromEntries(Object.entries(out.VersionIdsToStages ?? {}).map(([v, s]) => [v, [...s].sort()]));
    },
  }));
} else {
  describe("Vault contract: SecretsManagerVault against a real endpoint", () => {
    it.skip("skipped: set PULLKEEPER_TEST_AWS_ENDPOINT to a Secrets-Manager-compatible endpoint to run it", () => {});
  });
  console.warn("vault contract against a real Secrets Manager endpoint skipped: PULLKEEPER_TEST_AWS_ENDPOINT is not set");
}
