import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SHIPPED_CONFIG_FILE } from "../packages/core/src/config/config-document.js";
import { type ScheduleName, schedulerInput } from "../packages/core/src/config/schedule-input.js";
import { METRICS_NAMESPACE } from "./audit-config";
import { type DeployConfig, type ScheduleExpression, shippedConfig } from "./config";
import { SCHEDULE_RETRY_ATTEMPTS, schedulePermissions, schedulerTrust } from "./schedule-permissions";

/**
 * What every pullkeeper function's SST transform sets, in one place.
 */

/**
 * How every function is bundled: ESM with code splitting, so what a function imports lazily (a
 * target's Kubernetes client, Octokit, libsodium) is its own chunk, loaded only by an invocation
 * that reaches that provider, and never at cold start.
 */
export const NODEJS_BUNDLING = { splitting: true } as const;

const shipped = new WeakMap<DeployConfig, string>();

/**
 * Writes the config as the functions read it (shippedConfig) under SST's work directory, once per
 * deploy (every function shares it), and returns its path relative to the app root, as `copyFiles` takes it.
 */
function shippedConfigFile(deploy: DeployConfig): string {
  const known = shipped.get(deploy);
  if (known !== undefined) return known;
  const { name, json } = shippedConfig(deploy);
  const file = path.join($cli.paths.work, "pullkeeper", name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, json);
  const relative = path.relative($cli.paths.root, file);
  shipped.set(deploy, relative);
  return relative;
}

/**
 * What every pullkeeper function shares: Node 22 on arm64, the bundling above, the config
 * validated at deploy time shipped as the JSON file the function reads (pullkeeper.json), and
 * Powertools' service and metrics namespace. `environment` adds the function's own variables.
 */
export function functionBase(deploy: DeployConfig, environment: Record<string, $util.Input<string>>) {
  return {
    runtime: "nodejs22.x",
    architecture: "arm64",
    memory: "512 MB",
    environment: { PULLKEEPER_CONFIG: SHIPPED_CONFIG_FILE, POWERTOOLS_SERVICE_NAME: "pullkeeper", POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE, ...environment },
    copyFiles: [{ from: shippedConfigFile(deploy), to: SHIPPED_CONFIG_FILE }],
    nodejs: NODEJS_BUNDLING,
  } satisfies Partial<sst.aws.FunctionArgs>;
}

/**
 * - Trust: SST 4.17.1 always adds the account root as a trusted principal of a function's role
 *   (it tests an Output for truthiness where it means "not sst dev"), which would let any
 *   principal in the account with sts:AssumeRole on it act as the role. Outside `sst dev`,
 *   only Lambda may assume it.
 * - X-Ray active tracing (the functions trace with Powertools).
 * - For an asynchronously invoked function (`onFailure`): invocations older than
 *   `maxEventAgeSeconds`, or still failing after the function's `retries`, go to the queue.
 */
export function lambdaTransform(onFailure?: { readonly queueArn: $util.Input<string>; readonly maxEventAgeSeconds: number }): sst.aws.FunctionArgs["transform"] {
  return {
    role: (args) => {
      if (!$dev) args.assumeRolePolicy = aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" });
    },
    function: (args) => {
      args.tracingConfig = { mode: "Active" };
    },
    ...(onFailure && {
      eventInvokeConfig: (args: aws.lambda.FunctionEventInvokeConfigArgs) => {
        args.maximumEventAgeInSeconds = onFailure.maxEventAgeSeconds;
        args.destinationConfig = { onFailure: { destination: onFailure.queueArn } };
      },
    }),
  };
}

/** A schedule's dead-letter queue and how old a tick may get before it lands there. */
export interface ScheduleDeadLetters {
  readonly queue: sst.aws.Queue;
  readonly maxEventAgeSeconds: number;
}

/**
 * An EventBridge Scheduler schedule that invokes `fn` (asynchronously, as Scheduler invokes Lambda)
 * with schedulerInput(`schedule`), and the role it invokes with.
 *
 * - Time zone: `settings.timezone` (IANA, default UTC) for cron(); rate() ignores it.
 * - No flexible time window: the ticks are few, and the refresh margin and the audit's alarm
 *   periods count on them coming when the expression says. Refresh spreads its own work
 *   (`settings.maxJitter`, per registry).
 * - Retries: a tick Scheduler could not hand to Lambda is retried SCHEDULE_RETRY_ATTEMPTS times
 *   within `maxEventAgeSeconds`, then sent to the dead-letter queue (the flow's failure queue,
 *   where the function's own failed runs also go, watched by its alarm). A run that fails inside
 *   the function is Lambda's retry and on-failure destination (lambdaTransform).
 * - The role: only scheduler.amazonaws.com for this account may assume it; it may invoke this
 *   one function and send to this one queue (schedulePermissions).
 */
export function scheduledInvocation(
  name: string,
  args: { readonly schedule: ScheduleName; readonly expression: ScheduleExpression; readonly timezone: string; readonly fn: sst.aws.Function; readonly deadLetters: ScheduleDeadLetters; readonly description: string },
) {
  const account = aws.getCallerIdentityOutput().accountId;
  const role = new aws.iam.Role(`${name}Role`, {
    description: `pullkeeper ${$app.stage}: EventBridge Scheduler invokes the ${args.schedule} function`,
    assumeRolePolicy: aws.iam.getPolicyDocumentOutput({ statements: [schedulerTrust(account)] }).json,
    inlinePolicies: [
      {
        name: "invoke",
        policy: aws.iam.getPolicyDocumentOutput({
          statements: $resolve([args.fn.arn, args.deadLetters.queue.arn]).apply(([functionArn, deadLetterQueueArn]) => schedulePermissions({ functionArn, deadLetterQueueArn })),
        }).json,
      },
    ],
  });
  const schedule = new aws.scheduler.Schedule(name, {
    name: `${$app.name}-${$app.stage}-${args.schedule}`,
    description: args.description,
    scheduleExpression: args.expression,
    scheduleExpressionTimezone: args.timezone,
    flexibleTimeWindow: { mode: "OFF" },
    state: "ENABLED",
    target: {
      arn: args.fn.arn,
      roleArn: role.arn,
      input: schedulerInput(args.schedule),
      retryPolicy: { maximumRetryAttempts: SCHEDULE_RETRY_ATTEMPTS, maximumEventAgeInSeconds: args.deadLetters.maxEventAgeSeconds },
      deadLetterConfig: { arn: args.deadLetters.queue.arn },
    },
  });
  return { schedule, role };
}

/** EventBridge writes to a target's dead-letter queue under the queue's resource policy: only these rules may. */
export function eventBridgeDeadLetterPolicy(name: string, queue: sst.aws.Queue, sourceArns: $util.Input<string>[]): aws.sqs.QueuePolicy {
  return new aws.sqs.QueuePolicy(name, {
    queueUrl: queue.url,
    policy: aws.iam.getPolicyDocumentOutput({
      statements: [
        {
          actions: ["sqs:SendMessage"],
          resources: [queue.arn],
          principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }],
          conditions: [{ test: "ArnEquals", variable: "aws:SourceArn", values: sourceArns }],
        },
      ],
    }).json,
  });
}
