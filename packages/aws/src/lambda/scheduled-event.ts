import { randomUUID } from "node:crypto";

/**
 * The EventBridge "Scheduled Event" envelope around `detail`: how refresh, reconcile and audit-scan
 * are started by their schedules, so starting them another way (the API on demand, the embedded
 * scheduler) passes the same validation.
 */
export function scheduledEvent<D>(detail: D, region = process.env.AWS_REGION ?? "us-east-1") {
  return { version: "0", id: randomUUID(), "detail-type": "Scheduled Event", source: "aws.events", account: "000000000000", time: new Date().toISOString(), region, resources: [] as string[], detail };
}
