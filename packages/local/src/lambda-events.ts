import { scheduledEvent } from "@pullkeeper/aws/lambda";
import type { RefreshEvent } from "@pullkeeper/aws/lambda/handlers/refresh";
import { type DeliveryRequest, toDeliveryMessage } from "@pullkeeper/core";
import type { Context } from "aws-lambda";
import { randomUUID } from "node:crypto";

/** The events and context the Lambda handlers expect, as the local stand-ins hand them over. */

export function sqsEvent(request: DeliveryRequest, receive: number) {
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: "local",
        body: toDeliveryMessage(request),
        attributes: { ApproximateReceiveCount: String(receive), SentTimestamp: String(Date.now()), SenderId: "local", ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:local:000000000000:pullkeeper-deliveries",
        awsRegion: "local",
      },
    ],
  };
}

export const lambdaContext = (name: string) => ({ functionName: name, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 300_000 }) as unknown as Context;

export const scheduled = (detail: RefreshEvent["detail"]): RefreshEvent => scheduledEvent(detail, "local");
