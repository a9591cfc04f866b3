import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import { observability, propagationFromEnvironment } from "@pullkeeper/aws/lambda";
import { fromDeliveryMessage, InvalidInputError, type PropagationService } from "@pullkeeper/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

/**
 * The delivery worker: SQS batch in, one delivery per message, partial batch response out so
 * only the failed messages come back (and reach the dead-letter queue after the last receive).
 */

const { logger, metrics, tracer } = observability("pullkeeper-deliver");

/** SQS's maxReceiveCount for the queue (the stack sets both from one value). */
const maxReceives = () => Number(process.env.PULLKEEPER_MAX_RECEIVES ?? 5);

export function createDeliverHandler(runtime: () => Promise<PropagationService>) {
  let ready: Promise<PropagationService> | undefined;

  const deliverOne = async (record: SQSRecord) => {
    let request;
    try {
      request = fromDeliveryMessage(record.body);
    } catch (error) {
      // Retrying cannot fix a malformed message: say so once and let it go.
      logger.error("malformed delivery message dropped", { messageId: record.messageId, error: (error as InvalidInputError).message });
      metrics.addMetric("MalformedDeliveryMessages", MetricUnit.Count, 1);
      return;
    }
    const service = await (ready ??= runtime());
    const receives = Number(record.attributes.ApproximateReceiveCount ?? 1);
    const result = await service.deliver(request, { number: receives, final: receives >= maxReceives() });
    metrics.addMetric(result.outcome === "delivered" ? "Deliveries" : result.outcome === "failed" ? "DeliveryFailures" : "DeliveriesSkipped", MetricUnit.Count, 1);
    if (result.outcome === "failed") logger.error("delivery failed", { ...request, versionCreatedAt: request.versionCreatedAt.toISOString(), code: result.code, message: result.message });
    else logger.info("delivery", { consumerId: request.consumerId, versionId: request.versionId, ...result });
  };

  // A processor per invocation: it keeps the batch's state, and the embedded runtime runs
  // several invocations of this handler at once (Lambda never does in one container).
  const deliver = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, deliverOne, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });

  return middy(deliver)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(logMetrics(metrics));
}

export const handler = createDeliverHandler(propagationFromEnvironment);
