import { type Credential, NotFoundError } from "@pullkeeper/core";
import { randomUUID } from "node:crypto";
import type { LocalVault } from "./vault/local-vault.js";

/**
 * `pullkeeper secret put`'s write, shared by the running runtime (its local-only HTTP route) and
 * the CLI when no runtime runs: CreateSecret when the secret is new, then PutSecretValue, whose new
 * version takes AWSCURRENT (the previous one gets AWSPREVIOUS).
 */

export interface SecretWritten {
  readonly name: string;
  readonly arn: string;
  readonly versionId: string;
  /** The secret did not exist before. */
  readonly created: boolean;
}

export async function putSecret(vault: LocalVault, name: string, value: Credential): Promise<SecretWritten> {
  const existed = await vault.describe(name).then(
    () => true,
    (error: unknown) => {
      if (error instanceof NotFoundError) return false;
      throw error;
    },
  );
  if (!existed) await vault.createSecret(name);
  const put = await vault.putValue(name, value, { stages: ["AWSCURRENT"] });
  return { name, arn: put.arn, versionId: put.versionId, created: !existed };
}

/**
 * The event Secrets Manager's PutSecretValue produces on AWS (CloudTrail through EventBridge), which
 * the on-secret-change function turns into a propagation of the registry holding that secret.
 * The request's SecretString is never in it, as CloudTrail never logs it.
 */
export function putSecretValueEvent(written: SecretWritten, now = new Date()) {
  return {
    version: "0",
    id: randomUUID(),
    source: "aws.secretsmanager",
    "detail-type": "AWS API Call via CloudTrail",
    account: "000000000000",
    region: "local",
    time: now.toISOString(),
    resources: [],
    detail: {
      eventSource: "secretsmanager.amazonaws.com",
      eventName: "PutSecretValue",
      eventTime: now.toISOString(),
      requestParameters: { secretId: written.name },
      responseElements: { arn: written.arn, versionId: written.versionId, versionStages: ["AWSCURRENT"] },
    },
  };
}

export interface LocalSecretWrites {
  /** Writes, then announces the change as AWS would; resolves once propagation is planned (or failed to be). */
  put(name: string, value: Credential): Promise<SecretWritten & { readonly propagation: unknown }>;
}

/**
 * The running runtime's writer: the runtime is the vault's only writer while it runs (the vault
 * serializes writes within a process, not across processes), and it announces each write to its
 * on-secret-change handler so a registry's consumers get the new value at once, not at the next
 * reconcile.
 */
export function localSecretWrites(vault: LocalVault, announce: (event: ReturnType<typeof putSecretValueEvent>) => Promise<unknown>, log: (line: string) => void): LocalSecretWrites {
  return {
    put: async (name, value) => {
      const written = await putSecret(vault, name, value);
      const propagation = await announce(putSecretValueEvent(written)).catch((error: unknown) => {
        // The value is written: the scheduled reconcile delivers it if this announcement failed.
        log(`secret ${name}: version ${written.versionId} is AWSCURRENT, but planning its propagation failed: ${(error as Error).message}`);
        return { propagated: false, reason: "planning the propagation failed; the scheduled reconcile will deliver it" };
      });
      return { ...written, propagation };
    },
  };
}
