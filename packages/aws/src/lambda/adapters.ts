import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Tracer } from "@aws-lambda-powertools/tracer";
import { systemClock } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { DynamoLedger } from "../dynamo-ledger.js";
import { EventBridgeBus } from "../eventbridge-bus.js";
import { HmacFingerprinter } from "../fingerprint.js";
import { loadFingerprintKey } from "../fingerprint-key.js";
import { SecretsManagerVault } from "../secrets-manager-vault.js";

/** An environment variable the stack sets; its absence is a deployment fault worth a clear message. */
export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set (the stack sets it)`);
  return value;
}

/**
 * The AWS adapters every function shares, built from the environment the stack sets. Clients
 * take endpoints, region and credentials from the SDK's standard sources.
 */
export async function awsAdapters(tracer: Tracer) {
  const secrets = tracer.captureAWSv3Client(new SecretsManagerClient(clientOptions()));
  const keyFromEnv = process.env.PULLKEEPER_FINGERPRINT_KEY;
  const key = keyFromEnv ? Buffer.from(keyFromEnv, "base64") : await loadFingerprintKey(secrets, required("PULLKEEPER_FINGERPRINT_KEY_SECRET"));
  return {
    vault: new SecretsManagerVault(secrets),
    ledger: new DynamoLedger({ tableName: required("PULLKEEPER_TABLE"), client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())) }),
    bus: new EventBridgeBus({ busName: required("PULLKEEPER_BUS"), client: tracer.captureAWSv3Client(new EventBridgeClient(clientOptions())) }),
    fingerprints: new HmacFingerprinter(key),
    clock: systemClock,
  };
}
