import { Logger } from "@aws-lambda-powertools/logger";
import type { LogItem } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { Tracer } from "@aws-lambda-powertools/tracer";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { localLogFormat, prettyLogLine } from "./log-format.js";
import { redactCredentials } from "./redaction.js";

/** What the functions ask of Powertools' Tracer: wrap an SDK client (unchanged when tracing is off). */
export type FunctionTracer = Pick<Tracer, "captureAWSv3Client">;

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: FunctionTracer;
}

/**
 * Powertools' own rule: tracing is on inside Lambda (AWS_EXECUTION_ENV, not the Amplify mock, not
 * SAM local) unless POWERTOOLS_TRACE_ENABLED is "false".
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() === "false") return false;
  const execution = env.AWS_EXECUTION_ENV ?? "";
  return execution !== "" && execution !== "AWS_Lambda_amplify-mock" && (env.AWS_SAM_LOCAL ?? "") === "";
}

// Imported only where it traces: loading the Tracer loads aws-xray-sdk-core, whose cls-hooked
// namespace enables async hooks with destroy tracking for every promise of the process. In the
// embedded runtime (never traced) that cost ~5-10% of a delivery's CPU for nothing.
const tracing = tracingEnabled() ? await import("./tracing.js") : undefined;

const NO_TRACER: FunctionTracer = { captureAWSv3Client: (client) => client };

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
    tracer: tracing ? new tracing.Tracer({ serviceName }) : NO_TRACER,
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
  const traced = middy(handler);
  if (tracing) traced.use(tracing.captureLambdaHandler(tracer as Tracer));
  const observed = traced.use(injectLambdaContext(logger, { clearState: true }));
  if (options.metrics === false) return observed;
  return observed.use(options.captureColdStartMetric ? logMetrics(metrics, { captureColdStartMetric: true }) : logMetrics(metrics));
}
