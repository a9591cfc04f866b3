import { expect } from "vitest";
import { fakeArn, physicalName, policyStatements, type DeclaredResource, type SstRun } from "./sst-harness";

/** Reads a nested input, e.g. `input(fn, "environment", "variables")`. */
export function input<T = unknown>(resource: DeclaredResource, ...keys: (string | number)[]): T {
  let value: unknown = resource.inputs;
  for (const key of keys) {
    if (value === null || typeof value !== "object") return undefined as T;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value as T;
}

/** The resources of the refresh flow, by the logical names SST gives a component's children. */
export function refreshFlow(run: SstRun) {
  return {
    table: run.get("aws:dynamodb/table:Table", "LedgerTable"),
    bus: run.get("aws:cloudwatch/eventBus:EventBus", "EventsBus"),
    secret: run.get("aws:secretsmanager/secret:Secret", "FingerprintKey"),
    queue: run.get("aws:sqs/queue:Queue", "RefreshFailuresQueue"),
    fn: run.get("aws:lambda/function:Function", "RefreshFunction"),
    role: run.get("aws:iam/role:Role", "RefreshRole"),
    invokeConfig: run.get("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "RefreshEventInvokeConfig"),
    schedule: scheduled(run, "RefreshSchedule"),
  };
}

/**
 * A role's inline policy as `{actions, resources}` statements (every one must be Allow), with
 * `conditions` as SST's FunctionPermissionArgs spells them when the statement has any.
 */
export function inlineStatements(role: DeclaredResource): { actions: string[]; resources: string[]; conditions?: { test: string; variable: string; values: string[] }[] }[] {
  const policies = input<{ name: string; policy: unknown }[]>(role, "inlinePolicies") ?? [];
  return policies.flatMap((p) =>
    policyStatements(p.policy).map((s) => {
      expect(s.Effect, `${role.name}/${p.name}`).toBe("Allow");
      const conditions = Object.entries(s.Condition ?? {}).flatMap(([test, byVariable]) => Object.entries(byVariable).map(([variable, values]) => ({ test, variable, values })));
      return { actions: s.Action ?? [], resources: s.Resource ?? [], ...(conditions.length > 0 && { conditions }) };
    }),
  );
}

/** Who may assume a role: `{ Service: [...], AWS: [...] }` with array values. */
export function trustedPrincipals(role: DeclaredResource): Record<string, string[]> {
  const raw = input<unknown>(role, "assumeRolePolicy");
  const doc = (typeof raw === "string" ? JSON.parse(raw) : raw) as { Statement: { Effect: string; Action: string | string[]; Principal: Record<string, string | string[]> }[] };
  const principals: Record<string, string[]> = {};
  for (const s of doc.Statement) {
    expect(s.Effect).toBe("Allow");
    expect([s.Action].flat()).toEqual(["sts:AssumeRole"]);
    for (const [kind, ids] of Object.entries(s.Principal)) principals[kind] = [...(principals[kind] ?? []), ...[ids].flat()];
  }
  return principals;
}

/** The ARN the mocks gave a resource (derived from its physical name, as AWS would). */
export function arnOf(resource: DeclaredResource): string {
  return fakeArn(resource.type, physicalName(resource));
}

/** A function SST declared, by the name given to `sst.aws.Function`. */
export function lambda(run: SstRun, name: string) {
  return {
    fn: run.get("aws:lambda/function:Function", `${name}Function`),
    role: run.get("aws:iam/role:Role", `${name}Role`),
  };
}

/** A trigger stacks/propagation.ts declared: the rule, its target and the invoke permission. */
export function trigger(run: SstRun, name: string) {
  return {
    rule: run.get("aws:cloudwatch/eventRule:EventRule", `${name}Rule`),
    target: run.get("aws:cloudwatch/eventTarget:EventTarget", `${name}Target`),
    permission: run.get("aws:lambda/permission:Permission", `${name}Permission`),
  };
}

/** An EventBridge Scheduler schedule stacks/lambda.ts declared (scheduledInvocation) and the role it invokes with. */
export function scheduled(run: SstRun, name: string) {
  return {
    schedule: run.get("aws:scheduler/schedule:Schedule", name),
    role: run.get("aws:iam/role:Role", `${name}Role`),
  };
}

/**
 * What every schedule must be: on the expression and time zone from the config, no flexible
 * window, the Scheduler input its handler accepts, retried within `maxEventAgeSeconds` and then
 * dead-lettered to `deadLetters`, invoked with a role that only EventBridge Scheduler of this
 * account may assume and that may invoke `fn` and send to `deadLetters`, nothing else. No
 * resource-based permission on the function is needed (Scheduler invokes with the role), so none
 * names the schedule.
 */
export function expectScheduledInvocation(
  run: SstRun,
  declared: ReturnType<typeof scheduled>,
  expected: { readonly fn: DeclaredResource; readonly deadLetters: DeclaredResource; readonly expression: string; readonly timezone: string; readonly input: string; readonly maxEventAgeSeconds: number; readonly account: string },
) {
  const { schedule, role } = declared;
  expect(input(schedule, "scheduleExpression")).toBe(expected.expression);
  expect(input(schedule, "scheduleExpressionTimezone")).toBe(expected.timezone);
  expect(input(schedule, "flexibleTimeWindow")).toEqual({ mode: "OFF" });
  expect(input(schedule, "state")).toBe("ENABLED");
  expect(input(schedule, "groupName")).toBeUndefined();
  expect(input(schedule, "target")).toEqual({
    arn: arnOf(expected.fn),
    roleArn: arnOf(role),
    input: expected.input,
    retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: expected.maxEventAgeSeconds },
    deadLetterConfig: { arn: arnOf(expected.deadLetters) },
  });
  expect(trustedPrincipals(role)).toEqual({ Service: ["scheduler.amazonaws.com"] });
  const trust = JSON.parse(input<string>(role, "assumeRolePolicy")) as { Statement: { Condition?: unknown }[] };
  expect(trust.Statement.map((s) => s.Condition)).toEqual([{ StringEquals: { "aws:SourceAccount": [expected.account] } }]);
  expect(inlineStatements(role)).toEqual([
    { actions: ["lambda:InvokeFunction"], resources: [arnOf(expected.fn)] },
    { actions: ["sqs:SendMessage"], resources: [arnOf(expected.deadLetters)] },
  ]);
  expect(input(role, "managedPolicyArns")).toBeUndefined();
  // The only schedule of this function.
  expect(run.ofType("aws:scheduler/schedule:Schedule").filter((s) => input(s, "target", "arn") === arnOf(expected.fn))).toEqual([schedule]);
  const permissions = run.ofType("aws:lambda/permission:Permission").filter((p) => input(p, "function") === arnOf(expected.fn) || input(p, "function") === input(expected.fn, "name"));
  expect(permissions.filter((p) => ["events.amazonaws.com", "scheduler.amazonaws.com"].includes(input(p, "principal")))).toEqual([]);
}

/** The resources of the propagation flow (stacks/propagation.ts). */
export function propagationFlow(run: SstRun) {
  const invokeConfig = (name: string) => run.get("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", `${name}EventInvokeConfig`);
  const alarm = (name: string) => run.get("aws:cloudwatch/metricAlarm:MetricAlarm", name);
  return {
    deliveries: run.get("aws:sqs/queue:Queue", "DeliveriesQueue"),
    deadLetters: run.get("aws:sqs/queue:Queue", "DeliveryDeadLettersQueue"),
    failures: run.get("aws:sqs/queue:Queue", "PropagationFailuresQueue"),
    failuresPolicy: run.get("aws:sqs/queuePolicy:QueuePolicy", "PropagationFailuresPolicy"),
    onSecretChange: { ...lambda(run, "OnSecretChange"), invokeConfig: invokeConfig("OnSecretChange") },
    reconcile: { ...lambda(run, "Reconcile"), invokeConfig: invokeConfig("Reconcile") },
    deliver: lambda(run, "Deliver"),
    subscription: run.get("aws:lambda/eventSourceMapping:EventSourceMapping", "DeliverSubscription"),
    credentialRotated: trigger(run, "CredentialRotated"),
    schedule: scheduled(run, "ReconcileSchedule"),
    /** The Secrets Manager rules on the default bus, in declaration order. */
    secretRules: run.ofType("aws:cloudwatch/eventRule:EventRule").filter((r) => r.name.startsWith("Secret")),
    alarms: { deadLetters: alarm("DeliveryDeadLettersAlarm"), deliveryAge: alarm("DeliveryAgeAlarm"), failures: alarm("PropagationFailuresAlarm") },
  };
}
