import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { classifyAwsError } from "./errors.js";
import { HmacFingerprinter } from "./fingerprint.js";

// Fixed, so that two cold starts racing to create the key end with one value.
const FIRST_KEY_TOKEN = "pullkeeper-fingerprint-key-0000000000001";

/**
 * Loads the HMAC key from its secret, creating it on first use. The stack creates the secret
 * empty, so the key is generated inside AWS and never passes through a deploy machine.
 */
export async function loadFingerprintKey(client: SecretsManagerClient, secretId: string): Promise<Buffer> {
  const read = async (): Promise<Buffer | undefined> => {
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return out.SecretString ? Buffer.from(out.SecretString, "base64") : undefined;
    } catch (error) {
      // An empty secret answers ResourceNotFoundException for the AWSCURRENT value.
      if ((error as { name?: string }).name === "ResourceNotFoundException") return undefined;
      throw classifyAwsError(error, `fingerprint key secret ${secretId}`);
    }
  };
  const existing = await read();
  if (existing) return existing;
  try {
    await client.send(
      new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: FIRST_KEY_TOKEN, SecretString: HmacFingerprinter.randomKey().toString("base64") }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name;
    // Another cold start won the race with its own random value: use theirs.
    if (name !== "ResourceExistsException" && name !== "InvalidRequestException") throw classifyAwsError(error, `fingerprint key secret ${secretId}`);
  }
  const created = await read();
  if (!created) throw classifyAwsError(new Error("the key secret is still empty after writing it"), `fingerprint key secret ${secretId}`);
  return created;
}
