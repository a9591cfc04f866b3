import type { FunctionTracer } from "./observability.js";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { consumersFromConfig, type PropagationService, type PullkeeperConfig, rateLimitFor } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { DynamoRateLimiter } from "../dynamo-rate-limiter.js";
import { SqsDeliveryQueue } from "../sqs-delivery-queue.js";
import { DEFAULT_RATE_LIMITS } from "../target-modules.js";
import { awsAdapters, required } from "./adapters.js";
import { readConfigFile } from "./config-file.js";
import { CONSUMER_SCHEMAS } from "./consumer-schemas.js";
import { observability } from "./observability.js";
import { propagationService } from "./wiring.js";

/** Provider budgets from the target modules' defaults and the config's settings.rateLimits. */
export function rateLimits(config: PullkeeperConfig) {
  return (provider: string) => {
    const perSecond = rateLimitFor(provider, config.settings.rateLimits, DEFAULT_RATE_LIMITS);
    return perSecond === undefined ? undefined : { perSecond };
  };
}

/** Where propagation queues on AWS (SQS) and the rate limiter all workers share (GCRA items in the ledger table). */
export function awsDeliveryQueue(tracer: FunctionTracer, config: PullkeeperConfig) {
  return {
    queue: new SqsDeliveryQueue({ queueUrl: required("PULLKEEPER_DELIVERY_QUEUE_URL"), client: tracer.captureAWSv3Client(new SQSClient(clientOptions())) }),
    rateLimiter: new DynamoRateLimiter({ tableName: required("PULLKEEPER_TABLE"), client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())), limits: rateLimits(config) }),
  };
}

let tracer: FunctionTracer | undefined;

/**
 * The propagation engine on AWS for the planners (on-secret-change, reconcile): they plan and
 * queue, never deliver, so they get the consumer schemas and no target clients.
 */
export async function plannerFromEnvironment(): Promise<PropagationService> {
  tracer ??= observability("pullkeeper-propagation").tracer;
  const config = readConfigFile();
  const adapters = await awsAdapters(tracer);
  const consumers = consumersFromConfig(config, CONSUMER_SCHEMAS);
  return propagationService({ adapters, config, consumers, targets: new Map(), ...awsDeliveryQueue(tracer, config) });
}
