import type { FunctionTracer } from "./observability.js";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type PullkeeperConfig, rateLimitFor } from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { DynamoRateLimiter } from "../dynamo-rate-limiter.js";
import { required } from "./adapters.js";

/**
 * The limiter the providers' API calls share with every other function (GCRA items in the ledger
 * table): a 429's Retry-After pauses the provider for all of them. Budgets come from
 * settings.rateLimits only: the target modules' defaults would bring their descriptors in.
 */
export function providerLimiter(tracer: FunctionTracer, config: PullkeeperConfig): DynamoRateLimiter {
  return new DynamoRateLimiter({
    tableName: required("PULLKEEPER_TABLE"),
    client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())),
    limits: (provider) => {
      const perSecond = rateLimitFor(provider, config.settings.rateLimits);
      return perSecond === undefined ? undefined : { perSecond };
    },
  });
}
