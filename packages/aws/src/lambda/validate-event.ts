import type middy from "@middy/core";
import { parseWith, SCHEDULER_SOURCE, type ScheduleName } from "@pullkeeper/core";
import * as z from "zod";

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

/**
 * The EventBridge envelope (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html),
 * field for field as Powertools' parser describes it (`EventBridgeSchema`, 2.35.0). Ours because
 * that module imports zod's `z` namespace object, which drags all of zod, locales included
 * (~350 KB), into the cold start of every function that imports it: refresh, reconcile, revoke
 * and audit-scan loaded ~950 KB each before, ~600 KB after.
 */
export const EventBridgeEnvelopeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  "detail-type": z.string(),
  detail: z.unknown(),
  "replay-name": z.string().optional(),
});

const SCHEDULE_ARN = /^arn:aws[a-z-]*:scheduler:([a-z0-9-]+):(\d{12}):schedule\/[^/]+\/[^/]+$/;

/** What schedulerInput (packages/core/src/config/schedule-input.ts) becomes once EventBridge Scheduler has filled it in. */
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
  const fromScheduler = schedulerInputSchema(schedule);
  const fail = (ctx: z.RefinementCtx, issues: readonly z.core.$ZodIssue[]) => {
    for (const issue of issues) ctx.addIssue({ code: "custom", path: [...issue.path], message: issue.message });
    return z.NEVER;
  };
  return z.unknown().transform((event, ctx): z.output<S> => {
    const isObject = typeof event === "object" && event !== null && !Array.isArray(event);
    if (!isObject) {
      ctx.addIssue({ code: "custom", message: `expected an EventBridge event or the "${SCHEDULER_SOURCE}" input of the ${schedule} schedule, got ${event === null ? "null" : Array.isArray(event) ? "an array" : typeof event}` });
      return z.NEVER;
    }
    let candidate: unknown = event;
    if ((event as { source?: unknown }).source === SCHEDULER_SOURCE) {
      const input = fromScheduler.safeParse(event);
      if (!input.success) return fail(ctx, input.error.issues);
      const [, region, account] = SCHEDULE_ARN.exec(input.data.scheduleArn) ?? [];
      candidate = { version: "0", id: input.data.executionId, "detail-type": "Scheduled Event", source: "aws.scheduler", account, time: input.data.scheduledTime, region, resources: [input.data.scheduleArn], detail: {} };
    }
    const parsed = envelope.safeParse(candidate);
    return parsed.success ? (parsed.data as z.output<S>) : fail(ctx, parsed.error.issues);
  });
}
