import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { lazy } from "../lazy.js";
import { observability, withObservability } from "../observability.js";
import { type DeliveryRequest, type DeliveryResult, fromDeliveryMessage, InvalidInputError, type PropagationService } from "@pullkeeper/core";
import { ChangeMessageVisibilityCommand, SQSClient } from "@aws-sdk/client-sqs";
import { clientOptions } from "../../index.js";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

/**
 * The delivery worker: SQS batch in, one delivery per message, partial batch response out.
 *
 * Retries are the engine's, not SQS's: a delivery that failed for a cause a retry can mend is
 * recorded as `retrying`, the engine queues the request again with a delay (DelaySeconds, at
 * most 15 minutes; a longer wait is queued again when it arrives early) and this message is
 * acknowledged. So the queue's maxReceiveCount and dead-letter queue only ever see a message
 * whose handler crashed (the ledger or the queue itself unreachable): those come back with the
 * backoff below, and a dead letter's consumer stays pending/retrying in the ledger, which
 * reconcile plans again.
 */

const telemetry = observability("pullkeeper-deliver");
const { logger, metrics } = telemetry;

/**
 * Before a message whose handler crashed goes back to the queue: exponential backoff with full
 * jitter, by moving its visibility timeout (SQS alone would retry after the same fixed timeout
 * every time).
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

const METRIC: Record<DeliveryResult["outcome"], string> = {
  delivered: "Deliveries",
  failed: "DeliveryFailures",
  retrying: "DeliveryRetries",
  waiting: "DeliveriesWaiting",
  skipped: "DeliveriesSkipped",
};

/**
 * One log line per outcome. Powertools' logger keeps `message` for the line's own text and drops
 * an extra field of that name, so a failure's text goes under `reason`, its code under
 * `errorCode`. Neither ever holds a value: the engine's messages are written without one.
 */
function logResult(request: DeliveryRequest, receive: number, result: DeliveryResult): void {
  const ids = { consumerId: request.consumerId, registryId: request.registryId, versionId: request.versionId, receive };
  switch (result.outcome) {
    case "failed":
      logger.error("delivery failed", { ...ids, errorCode: result.code, reason: result.message, attempts: result.attempts });
      return;
    case "retrying":
      logger.warn(result.deferred ? "delivery deferred" : "delivery will be retried", {
        ...ids,
        errorCode: result.code,
        reason: result.message,
        attempt: result.attempts,
        nextAttemptAt: result.nextAttemptAt.toISOString(),
      });
      return;
    case "waiting":
      logger.info("delivery not due yet; queued again", { ...ids, nextAttemptAt: result.nextAttemptAt.toISOString() });
      return;
    case "delivered":
      logger.info("delivery", { ...ids, outcome: result.outcome, status: result.status, detail: result.detail });
      return;
    case "skipped":
      logger.info("delivery skipped", { ...ids, skipped: result.reason });
  }
}

export function createDeliverHandler(runtime: () => Promise<PropagationService>, backoff?: Backoff) {
  const ready = lazy(runtime);

  const deliverOne = async (record: SQSRecord) => {
    let request;
    try {
      request = fromDeliveryMessage(record.body);
    } catch (error) {
      // Retrying cannot fix a malformed message: say so once and let it go.
      logger.error("malformed delivery message dropped", { messageId: record.messageId, reason: (error as InvalidInputError).message });
      metrics.addMetric("MalformedDeliveryMessages", MetricUnit.Count, 1);
      return;
    }
    const service = await ready();
    const receives = Number(record.attributes.ApproximateReceiveCount ?? 1);
    let result: DeliveryResult;
    try {
      result = await service.deliver(request, { number: receives });
    } catch (error) {
      logger.warn("delivery bookkeeping failed; the message comes back", {
        consumerId: request.consumerId,
        versionId: request.versionId,
        receive: receives,
        errorCode: (error as { code?: string }).code ?? (error as Error).name,
        reason: error instanceof Error ? error.message : String(error),
      });
      // Best effort: if the backoff cannot be set, SQS retries after the queue's visibility timeout.
      await backoff?.(record, receives).catch((e: unknown) => logger.warn("could not set the retry backoff", { reason: (e as Error).message }));
      throw error;
    }
    metrics.addMetric(METRIC[result.outcome], MetricUnit.Count, 1);
    logResult(request, receives, result);
  };

  // A processor per invocation: it keeps the batch's state, and the embedded runtime runs
  // several invocations of this handler at once (Lambda never does in one container).
  const deliver = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, deliverOne, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });

  return withObservability(deliver, telemetry);
}

