import * as z from "zod";
import type { DeliveryRequest } from "./delivery.js";
import { parseWith } from "../model/validation.js";

/** A delivery request as it travels on a queue: IDs and a version date, never a value. */
const DeliveryMessageSchema = z.strictObject({
  consumerId: z.string().min(1),
  registryId: z.string().min(1),
  secretArn: z.string().startsWith("arn:"),
  versionId: z.string().min(1),
  versionCreatedAt: z.iso.datetime(),
});

export function toDeliveryMessage(request: DeliveryRequest): string {
  return JSON.stringify({ ...request, versionCreatedAt: request.versionCreatedAt.toISOString() });
}

/** Parses a queue message body; a malformed one is rejected with its fields named. */
export function fromDeliveryMessage(body: string): DeliveryRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    doc = undefined;
  }
  const parsed = parseWith(DeliveryMessageSchema, doc, "delivery message");
  return { ...parsed, versionCreatedAt: new Date(parsed.versionCreatedAt) };
}
