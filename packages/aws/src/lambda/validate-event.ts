import type middy from "@middy/core";
import { parseWith, SCHEDULER_SOURCE, type ScheduleName } from "@pullkeeper/core";
import { z } from "zod";

/**
 * Replaces the raw event with its parsed form, or rejects the invocation with every bad field
 * named (Powertools' parser middleware says only "Failed to parse schema"). Runs before the
 * handler, so a bad event never reaches an adapter.
 */
export function validateEvent<S extends z.ZodType>(schema: S, what = "event"): middy.MiddlewareObj<unknown, unknown> {
  return {
    before: (request) => {
      request.event = parseWith(schema, request.event, what);
    },
  };
}

const SCHEDULE_ARN = /^arn:aws[a-z-]*:scheduler:([a-z0-9-]+):(\d{12}):schedule\/[^/]+\/[^/]+$/;

/** What schedulerInput (packages/core/src/schedule-input.ts) becomes once EventBridge Scheduler has filled it in. */
function schedulerInputSchema(schedule: ScheduleName) {
  return z.strictObject({
    source: z.literal(SCHEDULER_SOURCE),
    schedule: z.string().refine((name) => name === schedule, { error: (issue) => `this function runs the "${schedule}" schedule, not "${String(issue.input)}" (the schedule targets the wrong function)` }),
    scheduleArn: z.string().regex(SCHEDULE_ARN, "expected an EventBridge Scheduler schedule ARN (arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>)"),
    scheduledTime: z.iso.datetime(),
    executionId: z.string().min(1),
  });
}

/**
 * Accepts what starts a scheduled function: the EventBridge envelope `envelope` describes (an
 * on-demand invocation from the API, the embedded scheduler, or a schedule rule of an earlier
 * deploy), or the input of its EventBridge Scheduler schedule, which becomes the same envelope
 * (source `aws.scheduler`, `time` when the tick was due, the schedule's ARN in `resources`, an
 * empty `detail`) checked by `envelope` again. Which one is told by `source`, so a bad event gets
 * the errors of the shape it claims to be, not a mix of both.
 */
export function scheduledInvocationSchema<S extends z.ZodType>(schedule: ScheduleName, envelope: S) {
  const fromScheduler = schedulerInputSchema(schedule)
    .transform((input) => {
      const [, region, account] = SCHEDULE_ARN.exec(input.scheduleArn) ?? [];
      return { version: "0", id: input.executionId, "detail-type": "Scheduled Event", source: "aws.scheduler", account, time: input.scheduledTime, region, resources: [input.scheduleArn], detail: {} };
    })
    .pipe(envelope);
  return z.unknown().transform((event, ctx): z.output<S> => {
    const isObject = typeof event === "object" && event !== null && !Array.isArray(event);
    if (!isObject) {
      ctx.addIssue({ code: "custom", message: `expected an EventBridge event or the "${SCHEDULER_SOURCE}" input of the ${schedule} schedule, got ${event === null ? "null" : Array.isArray(event) ? "an array" : typeof event}` });
      return z.NEVER;
    }
    const parsed = ((event as { source?: unknown }).source === SCHEDULER_SOURCE ? fromScheduler : envelope).safeParse(event);
    if (parsed.success) return parsed.data as z.output<S>;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    return z.NEVER;
  });
}
