import { refreshPermissions, scheduleExpression, TRACING_PERMISSIONS, type DeployConfig } from "./config";
import { functionBase, lambdaTransform, scheduledInvocation } from "./lambda";
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
  const { config } = deployConfig;
  const { table, bus, fingerprintKey } = storage;

  // Failed async invocations (after retries, or too old) and ticks the schedule could not deliver.
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
    ...functionBase(deployConfig, { PULLKEEPER_TABLE: table.name, PULLKEEPER_BUS: bus.name, PULLKEEPER_FINGERPRINT_KEY_SECRET: fingerprintKey.arn }),
    description: "pullkeeper: refresh ECR tokens before they expire",
    handler: "functions/refresh.handler",
    timeout: "5 minutes",
    // One run at a time: runs never overlap, so two runs never mint for the same registry.
    concurrency: { reserved: 1 },
    permissions,
    // A failed run is retried once; the next tick reconciles anyway.
    retries: 1,
    transform: lambdaTransform({ queueArn: failures.arn, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS }),
  });

  // EventBridge Scheduler, with the input functions/refresh.ts accepts (RefreshEventSchema).
  const schedule = scheduledInvocation("RefreshSchedule", {
    schedule: "refresh",
    expression: scheduleExpression(config.settings.refreshSchedule),
    timezone: config.settings.timezone,
    fn,
    deadLetters: { queue: failures, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS },
    description: `pullkeeper ${$app.stage}: refresh ECR tokens before they expire`,
  });

  return { function: fn, schedule, failures };
}
