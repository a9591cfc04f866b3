import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import { lazy, observability, propagationFromEnvironment } from "@pullkeeper/aws/lambda";
import { fromDeliveryMessage, InvalidInputError, type PropagationService } from "@pullkeeper/core";
import { ChangeMessageVisibilityCommand, SQSClient } from "@aws-sdk/client-sqs";
import { clientOptions } from "@pullkeeper/aws";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

/**
 * The delivery worker: SQS batch in, one delivery per message, partial batch response out so
 * only the failed messages come back (and reach the dead-letter queue after the last receive).
 */

const { logger, metrics, tracer } = observability("pullkeeper-deliver");

/** SQS's maxReceiveCount for the queue (the stack sets both from one value). */
const maxReceives = () => Number(process.env.PULLKEEPER_MAX_RECEIVES ?? 5);

/**
 * Before a failed message goes back to the queue: exponential backoff with full jitter, by
 * moving its visibility timeout (SQS alone would retry after the same fixed timeout every time).
 */
export type Backoff = (record: SQSRecord, receives: number) => Promise<void>;

export function sqsBackoff(options: { client?: SQSClient; queueUrl?: string; baseSeconds?: number; maxSeconds?: number } = {}): Backoff {
  const client = options.client ?? new SQSClient(clientOptions());
  const base = options.baseSeconds ?? 2;
  const max = options.maxSeconds ?? 300;
  return async (record, receives) => {
    const queueUrl = options.queueUrl ?? process.env.PULLKEEPER_DELIVERY_QUEUE_URL;
    if (!queueUrl) return;
    const seconds = Math.floor(Math.random() * Math.min(max, base * 2 ** receives));
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds }));
  };
}

export function createDeliverHandler(runtime: () => Promise<PropagationService>, backoff?: Backoff) {
  const ready = lazy(runtime);

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
    const service = await ready();
    const receives = Number(record.attributes.ApproximateReceiveCount ?? 1);
    let result;
    try {
      result = await service.deliver(request, { number: receives, final: receives >= maxReceives() });
    } catch (error) {
      // Best effort: if the backoff cannot be set, SQS retries after the queue's visibility timeout.
      await backoff?.(record, receives).catch((e: unknown) => logger.warn("could not set the retry backoff", { error: (e as Error).message }));
      throw error;
    }
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

export const handler = createDeliverHandler(propagationFromEnvironment, sqsBackoff());
