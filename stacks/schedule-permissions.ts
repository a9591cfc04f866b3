import type { PermissionStatement } from "./config";

/**
 * What an EventBridge Scheduler schedule's execution role may do, and who may assume it. Pure, so
 * test/infra/permissions.test.ts checks it without SST; stacks/lambda.ts (scheduledInvocation)
 * declares the role from it.
 */

/** Scheduler retries a tick it could not hand to Lambda this often, within the event age, then dead-letters it. */
export const SCHEDULE_RETRY_ATTEMPTS = 3;

/**
 * Exactly one function, and the dead-letter queue: Scheduler sends what it could not deliver with
 * the schedule's role (not under the queue's resource policy, as EventBridge rules do).
 */
export function schedulePermissions(ctx: { readonly functionArn: string; readonly deadLetterQueueArn: string }): PermissionStatement[] {
  return [
    { actions: ["lambda:InvokeFunction"], resources: [ctx.functionArn] },
    { actions: ["sqs:SendMessage"], resources: [ctx.deadLetterQueueArn] },
  ];
}

/** Only EventBridge Scheduler, and only for schedules of this account (confused-deputy guard). */
export function schedulerTrust<Account>(account: Account) {
  return {
    actions: ["sts:AssumeRole"],
    principals: [{ type: "Service", identifiers: ["scheduler.amazonaws.com"] }],
    conditions: [{ test: "StringEquals", variable: "aws:SourceAccount", values: [account] }],
  };
}
