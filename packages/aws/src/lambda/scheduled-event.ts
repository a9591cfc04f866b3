import { randomUUID } from "node:crypto";

/**
 * The EventBridge "Scheduled Event" envelope around `detail`: how refresh, reconcile, audit-scan
 * and revoke are started on demand (the API, the embedded scheduler), and how an EventBridge
 * schedule rule started them before the stacks moved to EventBridge Scheduler.
 */
export function scheduledEvent<D>(detail: D, region = process.env.AWS_REGION ?? "us-east-1") {
  return { version: "0", id: randomUUID(), "detail-type": "Scheduled Event", source: "aws.events", account: "000000000000", time: new Date().toISOString(), region, resources: [] as string[], detail };
}

// What a schedule sends, defined in core because the stacks set it.
export { SCHEDULER_SOURCE, schedulerInput, type ScheduleName } from "@pullkeeper/core";
