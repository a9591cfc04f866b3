import type { PullkeeperConfig } from "@pullkeeper/core";
import { toDeliveryMessage } from "@pullkeeper/core";
import type { SQSEvent } from "aws-lambda";
import { createDeliverHandler } from "../../functions/deliver.js";
import { createOnSecretChangeHandler } from "../../functions/on-secret-change.js";
import { createReconcileHandler } from "../../functions/reconcile.js";
import { createRevokeHandler } from "../../functions/revoke.js";
import { lambdaContext } from "../support/lambda.js";
import { adapters, type QueuedMessage, registry, services, type World } from "../crash/world.js";

/**
 * The four event-driven functions (functions/*.ts), each a fresh handler over a fresh container
 * per invocation, fed what EventBridge, SQS and the schedules would feed them.
 */

const context = lambdaContext("events-test");
const config = { registries: [registry] } as unknown as PullkeeperConfig;

export const envelope = (world: World, detailType: string, source: string, detail: unknown) => ({
  version: "0",
  id: `evt-${world.time.ms}-${Math.random().toString(36).slice(2, 8)}`,
  "detail-type": detailType,
  source,
  account: "123456789012",
  time: new Date(world.time.ms).toISOString(),
  region: "eu-west-1",
  resources: [],
  detail,
});

const sqsEvent = (message: QueuedMessage, receive: number): SQSEvent => ({
  Records: [
    {
      messageId: `m-${message.id}-${receive}`,
      receiptHandle: "h",
      body: toDeliveryMessage(message.request),
      attributes: { ApproximateReceiveCount: String(receive) } as SQSEvent["Records"][number]["attributes"],
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:deliveries",
      awsRegion: "eu-west-1",
    },
  ],
});

export function handlers(world: World) {
  const container = () => services(world, adapters(world));
  return {
    onSecretChange: (event: unknown) => createOnSecretChangeHandler(async () => ({ config, service: container().propagation }))(event, context),
    /** One message; a message the handler reports as failed goes back on the queue, as SQS does. */
    deliver: async (message: QueuedMessage, receive: number) => {
      const out = await createDeliverHandler(async () => container().propagation)(sqsEvent(message, receive), context);
      if (out.batchItemFailures.length > 0) world.queue.push(message);
    },
    reconcile: () => createReconcileHandler(async () => container().propagation)(envelope(world, "Scheduled Event", "aws.events", {}), context),
    revoke: () => createRevokeHandler(async () => container().revocation)(envelope(world, "Scheduled Event", "aws.events", {}), context),
  };
}
