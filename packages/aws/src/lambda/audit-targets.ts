import type { FunctionTracer } from "./observability.js";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { DeliveryTarget, PullkeeperConfig } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { SecretsManagerVault } from "../secrets-manager-vault.js";
import { configuredKinds, deliveryTargets } from "./propagation-runtime.js";

/** The config's targets, reading its own tokens (GitHub, Gitpod) from Secrets Manager; discovery defaults to the registry secret's region. */
export async function targetsReadingSecretsManager(tracer: FunctionTracer, config: PullkeeperConfig): Promise<Map<string, DeliveryTarget>> {
  const vault = new SecretsManagerVault(tracer.captureAWSv3Client(new SecretsManagerClient(clientOptions())));
  return deliveryTargets({
    readCredential: async (id) => (await vault.read(id, { stage: "AWSCURRENT" })).credential,
    registrySecret: (id) => config.registries.find((r) => r.id === id)?.secret,
    kinds: configuredKinds(config),
  });
}
