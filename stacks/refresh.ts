import { refreshPermissions, scheduleExpression, TRACING_PERMISSIONS, type DeployConfig } from "./config";
import { eventBridgeDeadLetterPolicy, lambdaTransform, scheduledTargetTransform, NODEJS_BUNDLING } from "./lambda";
import type { Storage } from "./storage";

/** Async invocations older than this are dropped to the failure queue: a newer tick supersedes them. */
const MAX_EVENT_AGE_SECONDS = 15 * 60;

/**
 * The refresh flow: a scheduled function that mints ECR tokens before they expire, writes them
 * to the registries' secrets, records versions in the ledger and announces them on the bus.
 *
 * IAM comes from `refreshPermissions` (derived from pullkeeper.yaml), not from SST `link`,
 * which would grant wildcard actions such as `dynamodb:*`.
 */
export function refresh(deployConfig: DeployConfig, storage: Storage) {
  const { config, relativeFile } = deployConfig;
  const { table, bus, fingerprintKey } = storage;

  // Failed async invocations (after retries, or too old) and schedules that could not invoke.
  const failures = new sst.aws.Queue("RefreshFailures", {
    transform: { queue: { messageRetentionSeconds: 14 * 24 * 60 * 60, sqsManagedSseEnabled: true } },
  });

  const partition = aws.getPartitionOutput().partition;
  const region = aws.getRegionOutput().region;
  const account = aws.getCallerIdentityOutput().accountId;
  const permissions = $resolve([partition, region, account, table.arn, bus.arn, fingerprintKey.arn, failures.arn]).apply(
    ([partition, region, account, tableArn, busArn, fingerprintKeySecretArn, failuresArn]) => [
      ...refreshPermissions(config, { partition, region, account, tableArn, busArn, fingerprintKeySecretArn }),
      ...TRACING_PERMISSIONS,
      // Lambda sends on-failure destination records with the function's role.
      { actions: ["sqs:SendMessage"], resources: [failuresArn] },
    ],
  );

  const fn = new sst.aws.Function("Refresh", {
    description: "pullkeeper: refresh ECR tokens before they expire",
    handler: "functions/refresh.handler",
    runtime: "nodejs22.x",
    architecture: "arm64",
    memory: "512 MB",
    timeout: "5 minutes",
    // One run at a time: runs never overlap, so two runs never mint for the same registry.
    concurrency: { reserved: 1 },
    environment: {
      PULLKEEPER_TABLE: table.name,
      PULLKEEPER_BUS: bus.name,
      PULLKEEPER_CONFIG: "pullkeeper.yaml",
      PULLKEEPER_FINGERPRINT_KEY_SECRET: fingerprintKey.arn,
      POWERTOOLS_SERVICE_NAME: "pullkeeper",
      POWERTOOLS_METRICS_NAMESPACE: "Pullkeeper",
    },
    // The file validated at deploy time is the one the function reads.
    copyFiles: [{ from: relativeFile, to: "pullkeeper.yaml" }],
    permissions,
    // A failed run is retried once; the next tick reconciles anyway.
    retries: 1,
    nodejs: NODEJS_BUNDLING,
    transform: lambdaTransform({ queueArn: failures.arn, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS }),
  });

  // An EventBridge rule whose target keeps the Scheduled Event envelope the handler validates
  // (functions/refresh.ts, RefreshEventSchema); see scheduledTargetTransform.
  const schedule = new sst.aws.Cron("RefreshSchedule", {
    function: fn,
    schedule: scheduleExpression(config.settings.refreshSchedule),
    transform: { target: scheduledTargetTransform({ queueArn: failures.arn, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS }) },
  });

  eventBridgeDeadLetterPolicy("RefreshFailuresPolicy", failures, [schedule.nodes.rule.arn]);

  return { function: fn, schedule, failures };
}
