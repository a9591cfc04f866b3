import { scheduleExpression, type DeployConfig } from "./config";
import { eventBridgeDeadLetterPolicy, functionBase, lambdaTransform, scheduledInvocation } from "./lambda";
import {
  CREDENTIAL_ROTATED_PATTERN,
  DEAD_LETTER_RETENTION_SECONDS,
  DELIVER_TIMEOUT_SECONDS,
  DELIVERY_AGE_ALARM_SECONDS,
  DELIVERY_BATCH_SIZE,
  DELIVERY_MAX_CONCURRENCY,
  DELIVERY_MAX_RECEIVES,
  DELIVERY_VISIBILITY_TIMEOUT_SECONDS,
  secretChangePattern,
  secretChangeRules,
} from "./propagation-config";
import { propagationPermissions } from "./propagation-permissions";
import type { Storage } from "./storage";

/** Async invocations and rule deliveries older than this are dropped to the failure queue: reconcile catches up. */
const MAX_EVENT_AGE_SECONDS = 15 * 60;

/**
 * The propagation flow (issue 5): a secret changed → plan the consumers that are behind → one SQS
 * message per delivery → the deliver worker.
 *
 * - Triggers: EventBridge rules on the default bus (where Secrets Manager and CloudTrail events
 *   arrive) for SECRET_CHANGE_PATTERNS narrowed to the tracked secrets (stacks/propagation-config.ts),
 *   a rule on pullkeeper's bus for our own Credential Rotated, and a reconcile schedule
 *   (EventBridge Scheduler, scheduledInvocation in stacks/lambda.ts), since EventBridge delivery
 *   is best effort.
 * - Why SQS: one message per (consumer, version) so a slow or failing consumer delays nobody
 *   else; SQS retries with the visibility timeout, partial batch responses return only the
 *   failed messages, the redrive policy moves a message that keeps failing to a dead-letter
 *   queue, and the event source mapping's maximum concurrency caps the workers that share a
 *   provider's rate limit. The queue holds IDs and the VersionId, never a value.
 * - Alarms: a dead letter (a delivery that crashed or timed out on its last receive), a delivery
 *   older than DELIVERY_AGE_ALARM_SECONDS, and a lost trigger (the failure queue).
 * - IAM: propagationPermissions, derived from the config; nothing is `link`ed.
 */
export function propagation(deployConfig: DeployConfig, storage: Storage) {
  const { config } = deployConfig;
  const { table, bus, fingerprintKey } = storage;
  const sse = { sqsManagedSseEnabled: true };

  const deadLetters = new sst.aws.Queue("DeliveryDeadLetters", {
    transform: { queue: { ...sse, messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS } },
  });
  const deliveries = new sst.aws.Queue("Deliveries", {
    visibilityTimeout: `${DELIVERY_VISIBILITY_TIMEOUT_SECONDS} seconds`,
    dlq: { queue: deadLetters.arn, retry: DELIVERY_MAX_RECEIVES },
    transform: { queue: sse },
  });
  // Failed asynchronous invocations of the planners, and rule or schedule deliveries that failed.
  const failures = new sst.aws.Queue("PropagationFailures", {
    transform: { queue: { ...sse, messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS } },
  });

  const partition = aws.getPartitionOutput().partition;
  const region = aws.getRegionOutput().region;
  const account = aws.getCallerIdentityOutput().accountId;
  const permissions = $resolve([partition, region, account, table.arn, bus.arn, fingerprintKey.arn, deliveries.arn, failures.arn]).apply(
    ([partition, region, account, tableArn, busArn, fingerprintKeySecretArn, deliveryQueueArn, failuresQueueArn]) =>
      propagationPermissions(config, { partition, region, account, tableArn, busArn, fingerprintKeySecretArn, deliveryQueueArn, failuresQueueArn }),
  );

  const common = functionBase(deployConfig, {
    PULLKEEPER_TABLE: table.name,
    PULLKEEPER_BUS: bus.name,
    PULLKEEPER_FINGERPRINT_KEY_SECRET: fingerprintKey.arn,
    PULLKEEPER_DELIVERY_QUEUE_URL: deliveries.url,
  });
  const onFailure = { queueArn: failures.arn, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS };

  const onSecretChange = new sst.aws.Function("OnSecretChange", {
    ...common,
    description: "pullkeeper: plan deliveries when a registry secret changes",
    handler: "functions/on-secret-change.handler",
    timeout: "5 minutes",
    permissions: permissions.onSecretChange,
    retries: 2,
    transform: lambdaTransform(onFailure),
  });

  const reconcile = new sst.aws.Function("Reconcile", {
    ...common,
    description: "pullkeeper: re-plan every consumer that is behind (what events missed)",
    handler: "functions/reconcile.handler",
    timeout: "5 minutes",
    // One run at a time; the next tick covers a failed one.
    concurrency: { reserved: 1 },
    permissions: permissions.reconcile,
    retries: 1,
    transform: lambdaTransform(onFailure),
  });

  const deliver = new sst.aws.Function("Deliver", {
    ...common,
    description: "pullkeeper: deliver a credential version to one consumer per message",
    handler: "functions/deliver.handler",
    timeout: `${DELIVER_TIMEOUT_SECONDS} seconds`,
    permissions: permissions.deliver,
    transform: lambdaTransform(),
  });

  const subscription = new aws.lambda.EventSourceMapping("DeliverSubscription", {
    eventSourceArn: deliveries.arn,
    functionName: deliver.arn,
    batchSize: DELIVERY_BATCH_SIZE,
    maximumBatchingWindowInSeconds: 0,
    functionResponseTypes: ["ReportBatchItemFailures"],
    scalingConfig: { maximumConcurrency: DELIVERY_MAX_CONCURRENCY },
  });

  // Triggers. Each rule invokes on-secret-change; what EventBridge cannot deliver goes to the
  // failure queue. Plain Pulumi resources, so Pulumi names them (`SecretApiCallsRule-1a2b3c4`);
  // the description says which app and stage a rule belongs to.
  const target = { retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: MAX_EVENT_AGE_SECONDS }, deadLetterConfig: { arn: failures.arn } };
  const trigger = (name: string, rule: aws.cloudwatch.EventRuleArgs) => {
    const declared = new aws.cloudwatch.EventRule(`${name}Rule`, rule);
    new aws.cloudwatch.EventTarget(`${name}Target`, { ...target, rule: declared.name, eventBusName: rule.eventBusName, arn: onSecretChange.arn });
    new aws.lambda.Permission(`${name}Permission`, { action: "lambda:InvokeFunction", function: onSecretChange.arn, principal: "events.amazonaws.com", sourceArn: declared.arn });
    return declared;
  };
  const rules = secretChangeRules(config).map((rule) =>
    trigger(rule.name, {
      description: `pullkeeper ${$app.stage}: Secrets Manager ${rule.kind} events for ${rule.secrets.length} tracked secret(s)`,
      // The default bus: AWS services deliver their events there.
      eventPattern: $resolve([partition, region, account]).apply(([partition, region, account]) => JSON.stringify(secretChangePattern(rule, { partition, region, account }))),
    }),
  );
  rules.push(trigger("CredentialRotated", { description: `pullkeeper ${$app.stage}: our own Credential Rotated events`, eventBusName: bus.name, eventPattern: JSON.stringify(CREDENTIAL_ROTATED_PATTERN) }));

  const schedule = scheduledInvocation("ReconcileSchedule", {
    schedule: "reconcile",
    expression: scheduleExpression(config.settings.reconcileSchedule, "settings.reconcileSchedule"),
    timezone: config.settings.timezone,
    fn: reconcile,
    deadLetters: { queue: failures, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS },
    description: `pullkeeper ${$app.stage}: re-plan every consumer that is behind`,
  });

  // The rules send what they could not deliver under this policy; the schedule with its own role.
  eventBridgeDeadLetterPolicy("PropagationFailuresPolicy", failures, rules.map((r) => r.arn));

  const queueAlarm = (name: string, queue: sst.aws.Queue, args: Pick<aws.cloudwatch.MetricAlarmArgs, "name" | "metricName" | "threshold" | "period" | "alarmDescription">) =>
    new aws.cloudwatch.MetricAlarm(name, {
      ...args,
      name: `${$app.name}-${$app.stage}-${args.name}`,
      namespace: "AWS/SQS",
      dimensions: { QueueName: queue.nodes.queue.name },
      statistic: "Maximum",
      evaluationPeriods: 1,
      comparisonOperator: "GreaterThanThreshold",
      // An idle queue reports no data: that is healthy.
      treatMissingData: "notBreaching",
    });
  const alarms = {
    deadLetters: queueAlarm("DeliveryDeadLettersAlarm", deadLetters, {
      name: "delivery-dead-letters",
      metricName: "ApproximateNumberOfMessagesVisible",
      threshold: 0,
      period: 60,
      alarmDescription: "pullkeeper: a delivery reached the dead-letter queue (the deliver function crashed or timed out on its last attempt); inspect and re-drive it",
    }),
    deliveryAge: queueAlarm("DeliveryAgeAlarm", deliveries, {
      name: "delivery-age",
      metricName: "ApproximateAgeOfOldestMessage",
      threshold: DELIVERY_AGE_ALARM_SECONDS,
      period: 300,
      alarmDescription: `pullkeeper: the oldest queued delivery is older than ${DELIVERY_AGE_ALARM_SECONDS / 60} minutes (deliveries are failing and retrying, or not being consumed)`,
    }),
    failures: queueAlarm("PropagationFailuresAlarm", failures, {
      name: "propagation-failures",
      metricName: "ApproximateNumberOfMessagesVisible",
      threshold: 0,
      period: 60,
      alarmDescription: "pullkeeper: a secret-change trigger or a reconcile run failed or could not be delivered (the next reconcile retries)",
    }),
  };

  return { deliveries, deadLetters, failures, onSecretChange, reconcile, deliver, subscription, rules, schedule, alarms };
}
