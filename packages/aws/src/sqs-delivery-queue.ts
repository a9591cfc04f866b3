import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from "@aws-sdk/client-sqs";
import { type DeliveryQueue, type DeliveryRequest, toDeliveryMessage, UpstreamError } from "@pullkeeper/core";
import pRetry from "p-retry";
import { clientOptions } from "./clients.js";
import { classifyAwsError } from "./errors.js";

/** SQS's longest message delay. */
export const MAX_DELAY_SECONDS = 900;

/**
 * The delivery queue on SQS: one message per (consumer, version), sent ten at a time; entries
 * SQS reports failed are sent again with backoff, like EventBridge's. A delayed send (a retry's
 * next attempt) sets DelaySeconds, at most 15 minutes: a longer wait is covered by the deliver
 * function queueing the message again when it arrives early, and by reconcile if it is lost.
 */
export class SqsDeliveryQueue implements DeliveryQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: { queueUrl: string; client?: SQSClient }) {
    this.#client = options.client ?? new SQSClient(clientOptions());
    this.#queueUrl = options.queueUrl;
  }

  async send(requests: readonly DeliveryRequest[], options: { readonly delayMs?: number } = {}): Promise<void> {
    const delay = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((options.delayMs ?? 0) / 1000)));
    for (let i = 0; i < requests.length; i += 10) {
      let pending: SendMessageBatchRequestEntry[] = requests.slice(i, i + 10).map((r, j) => ({ Id: String(j), MessageBody: toDeliveryMessage(r), ...(delay > 0 && { DelaySeconds: delay }) }));
      try {
        await pRetry(
          async () => {
            const out = await this.#client.send(new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: pending }));
            const failed = new Set((out.Failed ?? []).map((f) => f.Id));
            pending = pending.filter((e) => failed.has(e.Id));
            if (pending.length > 0) throw new UpstreamError("queue_send_failed", `${pending.length} delivery messages were not accepted by SQS`, true);
          },
          // Only entries SQS turned down are sent again: a failed call was retried by the SDK client already.
          { retries: 4, minTimeout: 200, factor: 2, randomize: true, shouldRetry: ({ error }) => error instanceof UpstreamError && error.code === "queue_send_failed" },
        );
      } catch (error) {
        throw classifyAwsError(error, `SQS SendMessageBatch to ${this.#queueUrl}`);
      }
    }
  }
}
