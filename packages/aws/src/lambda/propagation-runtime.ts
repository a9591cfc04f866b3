import type { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { consumersFromConfig, type DeliveryTarget, PropagationService, type PullkeeperConfig, rateLimitFor } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { awsTargets } from "../consumers/index.js";
import { DynamoRateLimiter } from "../dynamo-rate-limiter.js";
import { SqsDeliveryQueue } from "../sqs-delivery-queue.js";
import { awsAdapters } from "./adapters.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";

/** Every delivery target this deployment knows, one registration line per provider. */
export function deliveryTargets(extra: readonly DeliveryTarget[] = []): Map<string, DeliveryTarget> {
  return new Map([...awsTargets(), ...extra].map((t) => [t.kind, t]));
}

/** Provider budgets from the defaults and the config's settings.rateLimits. */
export function rateLimits(config: PullkeeperConfig) {
  return (provider: string) => {
    const perSecond = rateLimitFor(provider, config.settings.rateLimits);
    return perSecond === undefined ? undefined : { perSecond };
  };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set (the stack sets it)`);
  return value;
}

let tracer: Tracer | undefined;

/** The propagation engine on AWS: SQS queue, DynamoDB ledger and shared rate limiter, Secrets Manager. */
export async function propagationFromEnvironment(): Promise<PropagationService> {
  tracer ??= observability("pullkeeper-propagation").tracer;
  const config = readConfigFile();
  const targets = deliveryTargets();
  const consumers = consumersFromConfig(config, targets);
  const adapters = await awsAdapters(tracer);
  return new PropagationService({
    ...adapters,
    registries: config.registries,
    consumers,
    targets,
    queue: new SqsDeliveryQueue({ queueUrl: required("PULLKEEPER_DELIVERY_QUEUE_URL"), client: tracer.captureAWSv3Client(new SQSClient(clientOptions())) }),
    rateLimiter: new DynamoRateLimiter({ tableName: required("PULLKEEPER_TABLE"), client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())), limits: rateLimits(config) }),
  });
}
