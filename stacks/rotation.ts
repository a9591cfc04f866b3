import type { HtpasswdEfs } from "../packages/core/src/sources/htpasswd/module.js";
import { scheduleExpression, secretArn, type DeployConfig } from "./config";
import { functionBase, lambdaTransform, scheduledInvocation } from "./lambda";
import { HTPASSWD_EFS_MOUNT_PATH, revokePermissions, rotatePermissions, type RotationPlan } from "./rotation-permissions";
import type { Storage } from "./storage";

/** Revoke ticks older than this go to the failure queue: the next tick checks again. */
const MAX_EVENT_AGE_SECONDS = 15 * 60;

/** Failure records are kept for the maximum SQS allows. */
const FAILURE_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/**
 * The rotation flow (issue 11), deployed only when the config has registries rotated on AWS
 * (htpasswd users, a provider's tokens or robot accounts: `rotationPlan` in
 * stacks/rotation-permissions.ts, which also validates them):
 *
 * - Rotate (functions/rotate.ts): the Secrets Manager rotation function. For each registry, a
 *   SecretRotation on its secret with `rotationRules.scheduleExpression` = `source.rotation`, and
 *   a resource-policy statement that lets `secretsmanager.amazonaws.com` invoke the function for
 *   that secret only (sourceArn). A deploy never rotates by itself (`rotateImmediately: false`):
 *   the first rotation runs in the schedule's first window, or at `aws secretsmanager
 *   rotate-secret`. Secrets Manager invokes it synchronously and retries a failed step itself,
 *   so it has no failure queue; an alarm watches its errors instead.
 * - Revoke (functions/revoke.ts): on `settings.revokeSchedule`, retires the previous credential
 *   (htpasswd user, provider token or robot) once nothing holds it or the registry's maximum
 *   overlap has passed. An EventBridge
 *   Scheduler schedule like audit-scan's, with a failure queue and an alarm on it. It also runs the audit API's
 *   rollback (POST /v1/registries/{id}/rollback), invoked synchronously by the API function
 *   (stacks/api.ts gets the revoke function and the plan from here): in the VPC (with htpasswd
 *   registries), it can check the previous credential against a private registry. Synchronous invocations have no retries and
 *   no failure destination; reserved concurrency 1 also serialises a rollback with revoke runs.
 * - The audit API's refresh of a rotated registry is Secrets Manager's RotateSecret on its
 *   secret, which runs the rotate function as configured here (apiRotationPermissions).
 * - With htpasswd registries (`plan.efs`), both mount the EFS access point `source.efs` names at
 *   HTPASSWD_EFS_MOUNT_PATH (where `source.file` is) and run in its subnets with its security
 *   groups. Without one, neither mounts anything nor runs in a VPC: a source that rotates through
 *   its provider's HTTP API (dockerhub-token) reaches it on the internet, like the refresh
 *   function does. The VPC is attached in
 *   the function transform, not with SST's `vpc`, which would also attach the AWS managed
 *   AWSLambdaVPCAccessExecutionRole (EC2 actions on `*`); the roles get those actions scoped
 *   instead (vpcPermissions). Reaching Secrets Manager, DynamoDB, EventBridge, X-Ray, the
 *   registries and any provider's API from those subnets (NAT or VPC endpoints) is the VPC's
 *   owner's: see the README and docs/deploy.md.
 * - IAM: rotatePermissions / revokePermissions, derived from the config; nothing is `link`ed.
 */
export function rotation(deployConfig: DeployConfig, storage: Storage, plan: RotationPlan) {
  const { config } = deployConfig;
  const { table, bus, fingerprintKey } = storage;

  // Failed revoke runs (after the retry, or too old) and ticks the schedule could not deliver.
  const failures = new sst.aws.Queue("RevokeFailures", {
    transform: { queue: { messageRetentionSeconds: FAILURE_RETENTION_SECONDS, sqsManagedSseEnabled: true } },
  });

  const partition = aws.getPartitionOutput().partition;
  const region = aws.getRegionOutput().region;
  const account = aws.getCallerIdentityOutput().accountId;
  const context = $resolve([partition, region, account, table.arn, bus.arn, fingerprintKey.arn, failures.arn]).apply(
    ([partition, region, account, tableArn, busArn, fingerprintKeySecretArn, failuresQueueArn]) => ({ partition, region, account, tableArn, busArn, fingerprintKeySecretArn, failuresQueueArn }),
  );

  const environment = { PULLKEEPER_TABLE: table.name, PULLKEEPER_BUS: bus.name, PULLKEEPER_FINGERPRINT_KEY_SECRET: fingerprintKey.arn };
  // The htpasswd registries' EFS, in its VPC; nothing of either without an htpasswd registry.
  const { efs } = plan;
  const volume = efs && { efs: efs.accessPoint, path: HTPASSWD_EFS_MOUNT_PATH };
  const placed = (transform: sst.aws.FunctionArgs["transform"]) => (efs ? inVpc(efs, transform) : transform);

  const rotate = new sst.aws.Function("Rotate", {
    ...functionBase(deployConfig, environment),
    description: "pullkeeper: Secrets Manager rotation of rotated registries (htpasswd users on EFS; provider tokens and robots through the provider's API)",
    handler: "functions/rotate.handler",
    timeout: "5 minutes",
    permissions: context.apply((ctx) => rotatePermissions(plan, ctx)),
    ...(volume && { volume }),
    transform: placed(lambdaTransform()),
  });

  const onFailure = { queueArn: failures.arn, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS };
  const revoke = new sst.aws.Function("Revoke", {
    ...functionBase(deployConfig, environment),
    description: "pullkeeper: revoke superseded credentials of rotated registries once nothing holds them (or at the maximum overlap); roll back on demand",
    handler: "functions/revoke.handler",
    timeout: "5 minutes",
    // One run at a time: two runs would race on the same htpasswd files, provider credentials and ledger records.
    concurrency: { reserved: 1 },
    permissions: context.apply((ctx) => revokePermissions(plan, ctx)),
    ...(volume && { volume }),
    // A failed run is retried once; the next tick checks again anyway.
    retries: 1,
    transform: placed(lambdaTransform(onFailure)),
  });

  const rotations = plan.registries.map((registry) => {
    const permission = new aws.lambda.Permission(`RotationPermission-${registry.id}`, {
      action: "lambda:InvokeFunction",
      function: rotate.arn,
      principal: "secretsmanager.amazonaws.com",
      // Secrets Manager may invoke the function for this registry's secret only.
      sourceArn: $resolve([partition, region, account]).apply(([partition, region, account]) => secretArn(registry.secret, { partition, region, account })),
    });
    const secretRotation = new aws.secretsmanager.SecretRotation(
      `Rotation-${registry.id}`,
      {
        secretId: registry.secret,
        rotationLambdaArn: rotate.arn,
        rotationRules: { scheduleExpression: registry.schedule },
        rotateImmediately: false,
      },
      // Secrets Manager checks that it may invoke the function when the rotation is set.
      { dependsOn: [permission] },
    );
    return { registryId: registry.id, permission, rotation: secretRotation };
  });

  // Secrets Manager's own rotation schedules (above) are always UTC; this one follows settings.timezone.
  const schedule = scheduledInvocation("RevokeSchedule", {
    schedule: "revoke",
    expression: scheduleExpression(config.settings.revokeSchedule, "settings.revokeSchedule"),
    timezone: config.settings.timezone,
    fn: revoke,
    deadLetters: { queue: failures, maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS },
    description: `pullkeeper ${$app.stage}: revoke superseded credentials of rotated registries once nothing holds them`,
  });

  const alarmName = (suffix: string) => `${$app.name}-${$app.stage}-${suffix}`;
  const alarms = {
    rotationErrors: new aws.cloudwatch.MetricAlarm("RotationErrorsAlarm", {
      name: alarmName("rotation-errors"),
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: rotate.nodes.function.name },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      // No invocation, no datapoint: healthy.
      treatMissingData: "notBreaching",
      alarmDescription:
        "pullkeeper: a rotation step of a rotated registry failed (a new credential that did not verify is never promoted; Secrets Manager retries); see the rotate function's logs and the secret's RotationFailed events",
    }),
    revokeFailures: new aws.cloudwatch.MetricAlarm("RevokeFailuresAlarm", {
      name: alarmName("revoke-failures"),
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
      alarmDescription: "pullkeeper: a revoke run failed after its retry or could not be delivered (the next tick checks again)",
    }),
  };

  return { rotate, revoke, rotations, schedule, failures, alarms };
}

/**
 * `base` (lambdaTransform), plus the function in the access point's subnets with its security
 * groups. SST's own `vpc` would do the same and also attach AWSLambdaVPCAccessExecutionRole.
 */
function inVpc(efs: HtpasswdEfs, base: sst.aws.FunctionArgs["transform"]): sst.aws.FunctionArgs["transform"] {
  const baseFunction = base?.function;
  return {
    ...base,
    function: (args, opts, name) => {
      if (typeof baseFunction === "function") baseFunction(args, opts, name);
      else if (baseFunction) Object.assign(args, baseFunction);
      args.vpcConfig = { subnetIds: [...efs.subnets], securityGroupIds: [...efs.securityGroups] };
      return undefined;
    },
  };
}
