import { scheduledEvent, SCHEDULER_SOURCE, schedulerInput, type ScheduleName } from "@pullkeeper/aws/lambda";
import { parseConfig, type AuditScanService, type PropagationService, type RefreshService, type RevocationService } from "@pullkeeper/core";
import { describe, expect, it, vi } from "vitest";
import { createAuditScanHandler } from "../../functions/audit-scan.js";
import { createReconcileHandler } from "../../functions/reconcile.js";
import { createRefreshHandler } from "../../functions/refresh.js";
import { createRevokeHandler } from "../../functions/revoke.js";
import { fixture } from "../support/fixtures.js";
import { lambdaContext } from "../support/lambda.js";

/**
 * What starts the four scheduled functions: the input their EventBridge Scheduler schedule sends
 * (stacks/lambda.ts sets it with schedulerInput), the EventBridge envelope the API and the
 * embedded runtime send (and schedule rules of earlier deploys did), and nothing else.
 */

const context = lambdaContext("scheduled");
const SCHEDULE_ARN = (name: string) => `arn:aws:scheduler:eu-west-1:123456789012:schedule/default/pullkeeper-test-${name}`;
const ruleEvent = fixture<Record<string, unknown>>("aws-events-scheduler/scheduled-event.aws-lambda-docs.verbatim.json");

/** What EventBridge Scheduler sends: the schedule's input with its context attributes filled in. */
function fromScheduler(schedule: ScheduleName, overrides: Record<string, unknown> = {}) {
  const filled = schedulerInput(schedule)
    .replace("<aws.scheduler.schedule-arn>", SCHEDULE_ARN(schedule))
    .replace("<aws.scheduler.scheduled-time>", "2026-12-02T06:00:00Z")
    .replace("<aws.scheduler.execution-id>", "c0ffee00-0000-4000-8000-000000000001");
  return { ...(JSON.parse(filled) as Record<string, unknown>), ...overrides };
}

const config = parseConfig(`
registries:
  - { id: prod, host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com, kind: ecr, source: { type: ecr-token, account: "123456789012", region: eu-west-1 }, secret: pullkeeper/prod }
`);

/** Each handler with a stand-in service that records what the run was asked to do. */
const handlers = {
  refresh: () => {
    const run = vi.fn(async () => ({ results: [], startedAt: new Date(), finishedAt: new Date() }));
    return { handler: createRefreshHandler(async () => ({ config, service: { run } as unknown as RefreshService })), runs: run, what: "refresh event" };
  },
  reconcile: () => {
    const reconcile = vi.fn(async () => []);
    return { handler: createReconcileHandler(async () => ({ reconcile }) as unknown as PropagationService), runs: reconcile, what: "reconcile event" };
  },
  "audit-scan": () => {
    const scan = vi.fn(async () => ({ registries: [], totals: { current: 0, stale: 0, expired: 0, doomed: 0 }, discoveryFailures: 0 }));
    return { handler: createAuditScanHandler(async () => ({ scan }) as unknown as AuditScanService), runs: scan, what: "audit scan event" };
  },
  revoke: () => {
    const run = vi.fn(async () => []);
    return { handler: createRevokeHandler(async () => ({ run }) as unknown as RevocationService), runs: run, what: "revoke event" };
  },
} satisfies Record<ScheduleName, unknown>;

describe("schedulerInput (what the stacks set as each schedule's input)", () => {
  it("is JSON naming the schedule, with the Scheduler's context attributes for the ARN, due time and execution ID", () => {
    expect(JSON.parse(schedulerInput("refresh"))).toEqual({
      source: SCHEDULER_SOURCE,
      schedule: "refresh",
      scheduleArn: "<aws.scheduler.schedule-arn>",
      scheduledTime: "<aws.scheduler.scheduled-time>",
      executionId: "<aws.scheduler.execution-id>",
    });
  });
});

describe.each(Object.keys(handlers) as ScheduleName[])("functions/%s", (schedule) => {
  it("runs on its EventBridge Scheduler input: a full run", async () => {
    const { handler, runs } = handlers[schedule]();
    await handler(fromScheduler(schedule), context);
    expect(runs).toHaveBeenCalledTimes(1);
    // No registry narrowing and no force: a tick runs everything.
    expect(runs.mock.calls[0]?.filter((arg: unknown) => arg !== undefined && !(typeof arg === "object" && arg !== null && Object.keys(arg).length === 0) && !Array.isArray(arg))).toEqual([]);
  });

  it("still runs on the EventBridge Scheduled Event envelope (a rule, the API, the embedded runtime)", async () => {
    const { handler, runs } = handlers[schedule]();
    await handler(ruleEvent, context);
    await handler(scheduledEvent({}), context);
    expect(runs).toHaveBeenCalledTimes(2);
  });

  it.each<[string, (s: ScheduleName) => unknown, RegExp]>([
    ["another schedule's input", (s) => fromScheduler(s, { schedule: s === "refresh" ? "revoke" : "refresh" }), /schedule: this function runs the "[a-z-]+" schedule, not "[a-z-]+"/],
    ["an input whose context attributes were not filled in", (s) => JSON.parse(schedulerInput(s)), /scheduleArn: expected an EventBridge Scheduler schedule ARN[\s\S]*scheduledTime: /],
    ["an input with a detail", (s) => fromScheduler(s, { detail: { registryIds: ["prod"] } }), /\(top level\): Unrecognized key: "detail"/],
    ["an object that is neither", () => ({ hello: "world" }), /version: [\s\S]*detail-type: /],
    ["a string", () => "tick", /\(top level\): expected an EventBridge event or the "pullkeeper\.scheduler" input of the [a-z-]+ schedule, got string/],
    ["null", () => null, /got null/],
  ])("rejects %s, naming what is wrong, and runs nothing", async (_, event, expected) => {
    const { handler, runs, what } = handlers[schedule]();
    const failure = await handler(event(schedule), context).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(new RegExp(`^${what} is not valid:\\n`));
    expect((failure as Error).message).toMatch(expected);
    expect(runs).not.toHaveBeenCalled();
  });
});

describe("the envelope a Scheduler input becomes", () => {
  it("carries the due time, the schedule's ARN, account and region, and an empty detail", async () => {
    const { RefreshEventSchema } = await import("../../functions/refresh.js");
    expect(RefreshEventSchema.parse(fromScheduler("refresh"))).toEqual({
      version: "0",
      id: "c0ffee00-0000-4000-8000-000000000001",
      "detail-type": "Scheduled Event",
      source: "aws.scheduler",
      account: "123456789012",
      region: "eu-west-1",
      time: "2026-12-02T06:00:00Z",
      resources: [SCHEDULE_ARN("refresh")],
      detail: {},
    });
  });
});
