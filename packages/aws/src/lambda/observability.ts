import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { redactCredentials } from "./redaction.js";

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

/** One logger, metrics and tracer per function, configured the same way everywhere. */
export function observability(serviceName: string): Observability {
  return {
    logger: new Logger({ serviceName, jsonReplacerFn: redactCredentials }),
    metrics: new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "Pullkeeper" }),
    tracer: new Tracer({ serviceName }),
  };
}
