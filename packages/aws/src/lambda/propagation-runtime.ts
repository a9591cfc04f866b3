import type { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { consumersFromConfig, type Credential, DeliveryError, type DeliveryTarget, PropagationService } from "@pullkeeper/core";
import { DockerConfigTarget, GitpodSecretTarget, githubTargets, KubernetesSecretTarget, WebhookTarget } from "@pullkeeper/targets";
import { clientOptions } from "../clients.js";
import { awsTargets } from "../consumers/index.js";
import { DynamoRateLimiter } from "../dynamo-rate-limiter.js";
import { SqsDeliveryQueue } from "../sqs-delivery-queue.js";
import { awsAdapters, required } from "./adapters.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";
import { rateLimits } from "./planner-runtime.js";

export type CredentialReader = (secretId: string) => Promise<Credential>;

export interface DeliveryTargetsOptions {
  /** Reads the secrets targets authenticate with (GitHub and Gitpod tokens, webhook keys). */
  readonly readCredential?: CredentialReader;
  readonly extra?: readonly DeliveryTarget[];
  /** A registry's secret (ARN or name), so AWS discovery can default to its region. */
  readonly registrySecret?: (registryId: string) => string | undefined;
}

const noReader: CredentialReader = async (secretId) => {
  throw new DeliveryError("token_unavailable", `no secret reader is configured to read ${secretId}`, { retryable: false });
};

/**
 * Every delivery target this deployment knows, one registration line per provider. Without a
 * reader the targets still validate config (the stack uses them at deploy time).
 */
export function deliveryTargets(options: DeliveryTargetsOptions = {}): Map<string, DeliveryTarget> {
  const readCredential = options.readCredential ?? noReader;
  return new Map(
    [
      ...awsTargets(options.registrySecret ? { registrySecret: options.registrySecret } : {}),
      ...githubTargets({ readCredential }),
      new GitpodSecretTarget({ readCredential }),
      new KubernetesSecretTarget(),
      new DockerConfigTarget(),
      new WebhookTarget({ readCredential }),
      ...(options.extra ?? []),
    ].map((t) => [t.kind, t]),
  );
}

let tracer: Tracer | undefined;

/** The propagation engine on AWS: SQS queue, DynamoDB ledger and shared rate limiter, Secrets Manager. */
export async function propagationFromEnvironment(): Promise<PropagationService> {
  tracer ??= observability("pullkeeper-propagation").tracer;
  const config = readConfigFile();
  const adapters = await awsAdapters(tracer);
  const targets = deliveryTargets({ readCredential: async (id) => (await adapters.vault.read(id, { stage: "AWSCURRENT" })).credential });
  const consumers = consumersFromConfig(config, targets);
  return new PropagationService({
    ...adapters,
    registries: config.registries,
    consumers,
    targets,
    queue: new SqsDeliveryQueue({ queueUrl: required("PULLKEEPER_DELIVERY_QUEUE_URL"), client: tracer.captureAWSv3Client(new SQSClient(clientOptions())) }),
    rateLimiter: new DynamoRateLimiter({ tableName: required("PULLKEEPER_TABLE"), client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())), limits: rateLimits(config) }),
  });
}
