import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { FunctionTracer } from "./observability.js";
import { systemClock } from "@pullkeeper/core";
import { RegistryV2Verifier } from "@pullkeeper/registry";
import { clientOptions } from "../clients.js";
import { DynamoLedger } from "../dynamo-ledger.js";
import { EventBridgeBus } from "../eventbridge-bus.js";
import { HmacFingerprinter } from "../fingerprint.js";
import { loadFingerprintKey } from "../fingerprint-key.js";
import { SecretsManagerVault } from "../secrets-manager-vault.js";
import type { ServiceAdapters } from "./wiring.js";

/** An environment variable the stack sets; its absence is a deployment fault worth a clear message. */
export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set (the stack sets it)`);
  return value;
}

/** The ledger table and pullkeeper's bus, for a function that reads no secret (the audit scan). */
export function awsStores(tracer: FunctionTracer) {
  return {
    ledger: new DynamoLedger({ tableName: required("PULLKEEPER_TABLE"), client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())) }),
    bus: new EventBridgeBus({ busName: required("PULLKEEPER_BUS"), client: tracer.captureAWSv3Client(new EventBridgeClient(clientOptions())) }),
    clock: systemClock,
  };
}

/**
 * The AWS adapters every function shares, built from the environment the stack sets. Clients
 * take endpoints, region and credentials from the SDK's standard sources.
 */
export async function awsAdapters(tracer: FunctionTracer) {
  const secrets = tracer.captureAWSv3Client(new SecretsManagerClient(clientOptions()));
  const keyFromEnv = process.env.PULLKEEPER_FINGERPRINT_KEY;
  const key = keyFromEnv ? Buffer.from(keyFromEnv, "base64") : await loadFingerprintKey(secrets, required("PULLKEEPER_FINGERPRINT_KEY_SECRET"));
  const vault = new SecretsManagerVault(secrets);
  const { ledger, bus, clock } = awsStores(tracer);
  return { vault, ledger, bus, fingerprints: new HmacFingerprinter(key), clock };
}

/** The adapters and the registry verifier: what the services that open a registry are built over (refresh, rotation, the lifecycle). */
export async function awsServiceAdapters(tracer: FunctionTracer): Promise<ServiceAdapters> {
  return { ...(await awsAdapters(tracer)), verifier: new RegistryV2Verifier() };
}
