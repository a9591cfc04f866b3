import { scheduleExpression, type DeployConfig } from "./config";
import { AUDIT_SCAN_SERVICE, auditAlarmPeriodSeconds, DISCOVERY_FAILURE_PERIODS, EARLIEST_EXPIRY_ALARM_MINUTES, METRICS_NAMESPACE } from "./audit-config";
import { auditScanPermissions } from "./audit-permissions";
import { functionBase, lambdaTransform, scheduledInvocation } from "./lambda";
import type { Storage } from "./storage";

/** Async invocations (schedule ticks, scans the API asks for) older than this go to the failure queue: the next tick scans anyway. */
const MAX_EVENT_AGE_SECONDS = 15 * 60;

/** Failure records are kept for the maximum SQS allows. */
const FAILURE_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/**
 * The audit flow (issue 7): on `settings.auditSchedule`, functions/audit-scan.ts discovers every
 * consumer's running environments (ECS tasks, CodeBuild builds, codespaces, Gitpod environments,
 * Kubernetes pods), judges them against the ledger, records them, announces Environment Stale
 * and emits metrics; it also looks for undeclared consumers of the registries' secrets.
 *
 * - Schedule: EventBridge Scheduler like refresh's (scheduledInvocation in stacks/lambda.ts); a
 *   tick Scheduler cannot deliver, and an invocation that still fails after its retry, lands in
 *   the failure queue.
 * - IAM: auditScanPermissions, derived from the config; nothing is `link`ed.
 * - Alarms on audit-scan's service-level totals (namespace Pullkeeper, dimension
 *   service = pullkeeper-audit-scan), one datapoint per scan (auditAlarmPeriodSeconds):
 *   an environment runs on an expired credential; one's credential expires within
 *   EARLIEST_EXPIRY_ALARM_MINUTES; discovery failed DISCOVERY_FAILURE_PERIODS scans in a row;
 *   and a lost or failed scan (the failure queue).
 */
export function audit(deployConfig: DeployConfig, storage: Storage) {
  const { config } = deployConfig;
  const { table, bus } = storage;

  const failures = new sst.aws.Queue("AuditFailures", {
    transform: { queue: { messageRetentionSeconds: FAILURE_RETENTION_SECONDS, sqsManagedSseEnabled: true } },
  });

  const partition = aws.getPartitionOutput().partition;
  const region = aws.getRegionOutput().region;
  const account = aws.getCallerIdentityOutput().accountId;
  const permissions = $resolve([partition, region, account, table.arn, bus.arn, failures.arn]).apply(([partition, region, account, tableArn, busArn, failuresQueueArn]) =>
    auditScanPermissions(config, { partition, region, account, tableArn, busArn, failuresQueueArn }),
  );

  const fn = new sst.aws.Function("AuditScan", {
    ...functionBase(deployConfig, { PULLKEEPER_TABLE: table.name, PULLKEEPER_BUS: bus.name }),
    description: "pullkeeper: discover running environments, judge their credentials, record and alarm",
    handler: "functions/audit-scan.handler",
    timeout: "5 minutes",
    // One scan at a time: two scans would race on the same environment records.
    concurrency: { reserved: 1 },
    permissions,
    // A failed scan is retried once; the next tick scans anyway.
    retries: 1,
    transform: lambdaTransform({ queueArn: failures.arn, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS }),
  });

  const schedule = scheduledInvocation("AuditSchedule", {
    schedule: "audit-scan",
    expression: scheduleExpression(config.settings.auditSchedule, "settings.auditSchedule"),
    timezone: config.settings.timezone,
    fn,
    deadLetters: { queue: failures, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS },
    description: `pullkeeper ${$app.stage}: discover running environments and judge their credentials`,
  });

  const period = auditAlarmPeriodSeconds(config.settings.auditSchedule);
  const alarmName = (suffix: string) => `${$app.name}-${$app.stage}-${suffix}`;
  const scanAlarm = (name: string, args: Pick<aws.cloudwatch.MetricAlarmArgs, "metricName" | "statistic" | "comparisonOperator" | "threshold" | "evaluationPeriods" | "datapointsToAlarm" | "treatMissingData" | "alarmDescription"> & { name: string }) =>
    new aws.cloudwatch.MetricAlarm(name, {
      ...args,
      name: alarmName(args.name),
      namespace: METRICS_NAMESPACE,
      dimensions: { service: AUDIT_SCAN_SERVICE },
      period,
    });

  const alarms = {
    expired: scanAlarm("ExpiredEnvironmentsAlarm", {
      name: "expired-environments",
      metricName: "ExpiredEnvironments",
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      evaluationPeriods: 1,
      // A period without a scan keeps the alarm where it is: it clears when a scan reports none expired.
      treatMissingData: "missing",
      alarmDescription: "pullkeeper: an environment runs on an expired registry credential and will fail its next pull; see GET /v1/environments?verdict=expired and restart it",
    }),
    earliestExpiry: scanAlarm("EarliestExpiryAlarm", {
      name: "earliest-expiry",
      metricName: "MinutesToEarliestExpiry",
      statistic: "Minimum",
      comparisonOperator: "LessThanThreshold",
      threshold: EARLIEST_EXPIRY_ALARM_MINUTES,
      evaluationPeriods: 1,
      // No environment holding an expiring credential, no datapoint: healthy.
      treatMissingData: "notBreaching",
      alarmDescription: `pullkeeper: a running environment's credential expires within ${EARLIEST_EXPIRY_ALARM_MINUTES} minutes; see GET /v1/expiring`,
    }),
    discoveryFailures: scanAlarm("DiscoveryFailuresAlarm", {
      name: "discovery-failures",
      metricName: "DiscoveryFailures",
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      evaluationPeriods: DISCOVERY_FAILURE_PERIODS,
      datapointsToAlarm: DISCOVERY_FAILURE_PERIODS,
      // A scan that did not run is the failure queue's alarm.
      treatMissingData: "notBreaching",
      alarmDescription: `pullkeeper: environment discovery failed for some consumer in ${DISCOVERY_FAILURE_PERIODS} scans in a row (credentials, permissions or the provider); see the audit-scan logs`,
    }),
    failures: new aws.cloudwatch.MetricAlarm("AuditFailuresAlarm", {
      name: alarmName("audit-failures"),
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: failures.nodes.queue.name },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      // An idle queue reports no data: that is healthy.
      treatMissingData: "notBreaching",
      alarmDescription: "pullkeeper: an audit scan failed after its retry or could not be delivered (the next tick scans again)",
    }),
  };

  return { function: fn, schedule, failures, alarms };
}
