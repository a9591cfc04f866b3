import { METRICS_NAMESPACE } from "./audit-config";

/**
 * What every pullkeeper function's SST transform sets, in one place.
 */

/**
 * How every function is bundled: ESM with code splitting, so what a function imports lazily (a
 * target's Kubernetes client, Octokit, libsodium) is its own chunk, loaded only by an invocation
 * that reaches that provider, and never at cold start.
 */
export const NODEJS_BUNDLING = { splitting: true } as const;

/**
 * What every pullkeeper function shares: Node 22 on arm64, the bundling above, the config file
 * validated at deploy time shipped as the file the function reads, and Powertools' service and
 * metrics namespace. `environment` adds the function's own variables.
 */
export function functionBase(relativeFile: string, environment: Record<string, $util.Input<string>>) {
  return {
    runtime: "nodejs22.x",
    architecture: "arm64",
    memory: "512 MB",
    environment: { PULLKEEPER_CONFIG: "pullkeeper.yaml", POWERTOOLS_SERVICE_NAME: "pullkeeper", POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE, ...environment },
    copyFiles: [{ from: relativeFile, to: "pullkeeper.yaml" }],
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

/**
 * The target of an SST Cron whose function validates the standard "Scheduled Event" envelope
 * (only an EventBridge rule delivers it, hence a rule and not EventBridge Scheduler). SST's
 * Cron sets the target input to `{}`, which would replace the envelope, so it is removed. A
 * tick EventBridge cannot deliver after the retries lands in the dead-letter queue.
 */
export function scheduledTargetTransform(deadLetters: { readonly queueArn: $util.Input<string>; readonly maxEventAgeSeconds: number }): NonNullable<sst.aws.CronArgs["transform"]>["target"] {
  return (args) => {
    delete args.input;
    args.retryPolicy = { maximumRetryAttempts: 2, maximumEventAgeInSeconds: deadLetters.maxEventAgeSeconds };
    args.deadLetterConfig = { arn: deadLetters.queueArn };
  };
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
