import { Logger } from "@aws-lambda-powertools/logger";
import type { LogItem } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { localLogFormat, prettyLogLine } from "./log-format.js";
import { redactCredentials } from "./redaction.js";

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

/**
 * Powertools' logger, unchanged on Lambda. Inside `pullkeeper dev` (PULLKEEPER_LOG_FORMAT set)
 * each item goes to stderr with the runtime's own lines, as one readable line or as one JSON
 * line; both go through the same credential redaction.
 */
class FunctionLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    const format = localLogFormat();
    if (format === undefined) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    const attributes = log.getAttributes();
    process.stderr.write(`${format === "pretty" ? prettyLogLine(attributes) : JSON.stringify(attributes, this.getJsonReplacer())}\n`);
  }
}

/** One logger, metrics and tracer per function, configured the same way everywhere. */
export function observability(serviceName: string): Observability {
  return {
    logger: new FunctionLogger({ serviceName, jsonReplacerFn: redactCredentials }),
    metrics: new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "Pullkeeper" }),
    tracer: new Tracer({ serviceName }),
  };
}

export interface ObservedOptions {
  /** Flush the invocation's metrics when it ends (the default); the audit API emits none. */
  readonly metrics?: boolean;
  readonly captureColdStartMetric?: boolean;
}

/**
 * The handler wrapped in the middlewares every function runs with, in this order: the trace,
 * the logger's Lambda context (cleared between invocations), then the metrics flush. Further
 * middlewares (event validation) go on the result with `.use`.
 */
export function withObservability<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  { logger, metrics, tracer }: Observability,
  options: ObservedOptions = {},
) {
  const observed = middy(handler).use(captureLambdaHandler(tracer)).use(injectLambdaContext(logger, { clearState: true }));
  if (options.metrics === false) return observed;
  return observed.use(options.captureColdStartMetric ? logMetrics(metrics, { captureColdStartMetric: true }) : logMetrics(metrics));
}
