/**
 * The input an EventBridge Scheduler schedule invokes a scheduled function with. Here, not beside
 * the handlers, because the stacks set it and may import only pure modules (tsconfig.stacks.json).
 */

/** The scheduled functions, by the name their schedule gives in its input. */
export type ScheduleName = "refresh" | "reconcile" | "audit-scan" | "revoke";

/** `source` of a schedule's input; the handlers tell it from an EventBridge envelope by this. */
export const SCHEDULER_SOURCE = "pullkeeper.scheduler";

/**
 * EventBridge Scheduler sends this as the whole event (there is no envelope), after replacing the
 * context attributes in angle brackets with the schedule's ARN, the time the invocation was due
 * and the invocation's ID. The handlers turn it back into the Scheduled Event envelope
 * (scheduledInvocationSchema, packages/aws/src/lambda/validate-event.ts), so a run does not care
 * how it was started. A tick runs everything: there is no `detail`.
 */
export function schedulerInput(schedule: ScheduleName): string {
  return JSON.stringify({
    source: SCHEDULER_SOURCE,
    schedule,
    scheduleArn: "<aws.scheduler.schedule-arn>",
    scheduledTime: "<aws.scheduler.scheduled-time>",
    executionId: "<aws.scheduler.execution-id>",
  });
}
