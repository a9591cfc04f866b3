import { Logger } from "@aws-lambda-powertools/logger";
import type { LogItem } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
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
