import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { htpasswdSourceOf } from "../../packages/core/src/sources/htpasswd/module.js";
import { schedulerInput } from "../../packages/core/src/config/schedule-input.js";
import { apiPermissions } from "../../stacks/audit-permissions.js";
import { loadDeployConfig } from "../../stacks/config.js";
import {
  apiRotationPermissions,
  fileSystemArn,
  HTPASSWD_EFS_MOUNT_PATH,
  revokePermissions,
  rotatePermissions,
  rotationPlan,
  secretsManagerScheduleIssue,
  type RotationPlan,
} from "../../stacks/rotation-permissions.js";
import { arnOf, expectScheduledInvocation, inlineStatements, input, lambda, propagationFlow, refreshFlow, scheduled, trustedPrincipals } from "./declared";
import { expectLeastPrivilege } from "./iam-invariants";
import { ensureSstPlatform, FAKE_ACCOUNT, FAKE_PARTITION, FAKE_REGION, readZip, REPO_ROOT, runSstApp, SstRunError, type DeclaredResource, type SstRun } from "./sst-harness";
import { shippedConfigOf } from "./shipped-config.js";

/**
 * The real sst.config.ts → stacks/ under Pulumi mocks (test/infra/sst-harness.ts), stage "test":
 * with a fixture that has two htpasswd registries rotated on AWS (on one EFS access point) and an
 * ECR registry; with a config that has no htpasswd
 * registry; and with configs the deploy must refuse.
 */
const FIXTURE = "test/infra/fixtures/pullkeeper.rotation.yaml";
const UNDEPLOYABLE = "test/infra/fixtures/pullkeeper.rotation-undeployable.yaml";
const INVALID = "test/infra/fixtures/pullkeeper.rotation-invalid.yaml";
const WITHOUT_HTPASSWD = "test/infra/fixtures/pullkeeper.propagation.yaml";

const read = (file: string) => parseConfig(readFileSync(path.join(REPO_ROOT, file), "utf8"), file);
const config = read(FIXTURE);
const plan = rotationPlan(config, FIXTURE) as RotationPlan;
const here = { partition: FAKE_PARTITION, region: FAKE_REGION, account: FAKE_ACCOUNT };

const ACCESS_POINT = "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0";
const FILE_SYSTEM = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0";
const SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"];
const SECURITY_GROUPS = ["sg-0ccccccccccccccc3"];
/** The rotated registries' secrets as IAM and the invoke permissions name them (a name gets the random-suffix pattern). */
const HARBOR_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/harbor-??????";
const MIRROR_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/mirror-Mr0Ab1";

let run: SstRun;
let withoutHtpasswd: SstRun;
let undeployable: unknown;
let invalid: unknown;

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (error: unknown) => error,
  );

beforeAll(async () => {
  ensureSstPlatform();
  undeployable = await failure(runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: UNDEPLOYABLE } }));
  invalid = await failure(runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: INVALID } }));
  withoutHtpasswd = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: WITHOUT_HTPASSWD } });
  run = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: FIXTURE } });
}, 10 * 60_000);

const env = (fn: DeclaredResource) => input<Record<string, string>>(fn, "environment", "variables");
const ctx = () => {
  const { table, bus, secret } = refreshFlow(run);
  return { ...here, tableArn: arnOf(table), busArn: arnOf(bus), fingerprintKeySecretArn: arnOf(secret) };
};

function rotationFlow(from: SstRun = run) {
  return {
    rotate: lambda(from, "Rotate"),
    revoke: { ...lambda(from, "Revoke"), invokeConfig: from.get("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "RevokeEventInvokeConfig") },
    rotations: from.ofType("aws:secretsmanager/secretRotation:SecretRotation"),
    permissions: from.ofType("aws:lambda/permission:Permission").filter((p) => p.name.startsWith("RotationPermission-")),
    schedule: scheduled(from, "RevokeSchedule"),
    failures: from.get("aws:sqs/queue:Queue", "RevokeFailuresQueue"),
    alarms: {
      rotationErrors: from.get("aws:cloudwatch/metricAlarm:MetricAlarm", "RotationErrorsAlarm"),
      revokeFailures: from.get("aws:cloudwatch/metricAlarm:MetricAlarm", "RevokeFailuresAlarm"),
    },
  };
}

describe("the rotation plan (pure)", () => {
  it("rotates the htpasswd registries on EFS, not ECR", () => {
    expect(plan.registries).toEqual([
      { index: 0, id: "harbor", secret: "pullkeeper/harbor", schedule: "rate(1 day)" },
      { index: 1, id: "mirror", secret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/mirror-Mr0Ab1", schedule: "cron(0 4/12 * * ? *)" },
    ]);
    expect(plan.efs).toEqual({ fileSystem: "fs-0123456789abcdef0", accessPoint: ACCESS_POINT, subnets: SUBNETS, securityGroups: SECURITY_GROUPS });
    expect(plan.efs && fileSystemArn(plan.efs)).toBe(FILE_SYSTEM);
    expect(HTPASSWD_EFS_MOUNT_PATH).toBe("/mnt/htpasswd");
  });

  it("deploys nothing for a config without htpasswd; refuses the repo's pullkeeper.yaml (its htpasswd registry is the embedded runtime's, test/infra/deploy-reachability.test.ts)", () => {
    const repo = loadDeployConfig({}, REPO_ROOT);
    expect(repo.config.registries.some((r) => r.source.type === "htpasswd")).toBe(true);
    expect(() => rotationPlan(repo.config, repo.relativeFile)).toThrow(/registries\[0\]\.source\.serve: registry "local" is served by the embedded runtime/);
    expect(rotationPlan(read(WITHOUT_HTPASSWD))).toBeUndefined();
  });

  it.each([
    ["rate(4 hours)", undefined],
    ["rate(12 hours)", undefined],
    ["rate(1 day)", undefined],
    ["rate(30 days)", undefined],
    ["rate(1000 days)", undefined],
    ["cron(0 4/12 * * ? *)", undefined],
    ["cron(0 8 1/7 * ? *)", undefined],
    ["cron(0 0 ? * SUN#1 *)", undefined],
    ["cron(0 16 L * ? *)", undefined],
    ["cron(0 2,6,10 * * ? *)", undefined],
    ["rate(3 hours)", /at most every 4 hours/],
    ["rate(1 hour)", /at most every 4 hours/],
    ["rate(15 minutes)", /in hours or days/],
    ["rate(1001 days)", /at least every 1000 days/],
    ["rate(0 days)", /positive/],
    ["cron(30 4 * * ? *)", /Minutes field must be 0/],
    ["cron(0 4 * * ? 2030)", /Year field must be \*/],
    ["cron(0 * * * ? *)", /Hours field "\*" is more often/],
    ["cron(0 */2 * * ? *)", /at most every 4 hours/],
    ["cron(0 8-17 * * ? *)", /at most every 4 hours/],
    ["cron(0 2,4 * * ? *)", /at most every 4 hours/],
    ["cron(0 25 * * ? *)", /hours 0-23/],
    ["cron(0 4 * * ?)", /six fields/],
  ])("Secrets Manager schedule %s", (expression, expected) => {
    const issue = secretsManagerScheduleIssue(expression);
    if (expected === undefined) expect(issue).toBeUndefined();
    else expect(issue).toMatch(expected);
  });
});

describe("a config the AWS deploy cannot rotate", () => {
  it("fails the deploy naming every problem by its line, column and path in the file, and declares nothing", () => {
    expect(undeployable).toBeInstanceOf(SstRunError);
    const { message, declared } = undeployable as SstRunError;
    expect(message.split("\n")).toEqual([
      `${UNDEPLOYABLE} is not valid:`,
      `  ${UNDEPLOYABLE}:20:13 registries[1].source.efs: registry "no-efs" is an htpasswd registry; on AWS its rotation writes source.file on EFS: set source.efs (fileSystem, accessPoint, subnets, securityGroups) and put source.file below /mnt/htpasswd/ (README, "Deploy to AWS")`,
      `  ${UNDEPLOYABLE}:25:78 registries[2].source.rotation: "rate(2 hours)": Secrets Manager rotates at most every 4 hours: use rate(N hours) with N ≥ 4, or rate(N days)`,
      `  ${UNDEPLOYABLE}:30:81 registries[3].source.rotation: "cron(30 4 * * ? *)": Secrets Manager opens rotation windows on the hour: the Minutes field must be 0`,
      `  ${UNDEPLOYABLE}:39:9 registries[4].source.efs: differs from registries[0].source.efs; the rotation and revoke functions mount one EFS access point from one VPC, so every htpasswd registry names the same source.efs (with its file at its own path on it)`,
      `  ${UNDEPLOYABLE}:48:13 registries[5].secret: registries[0] (first) rotates the same secret; Secrets Manager rotates a secret with one function on one schedule, so each rotated registry needs its own`,
    ]);
    expect(declared.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });

  it("an htpasswd file outside the mount path of source.efs fails the config itself, with the path named", () => {
    expect(invalid).toBeInstanceOf(SstRunError);
    const { message, declared } = invalid as SstRunError;
    expect(message).toBe(
      `${INVALID} is not valid:\n  ${INVALID}:9:13 registries[0].source.file: with source.efs, expected a path below /mnt/htpasswd/ (where the functions mount the access point), such as /mnt/htpasswd/<registry>/htpasswd`,
    );
    expect(declared.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});

describe("a config without htpasswd registries", () => {
  it("declares no rotation or revoke resources", () => {
    const ours = /^(Rotate|Revoke|Rotation-|RotationPermission-|RotationErrorsAlarm)/;
    expect(run.resources.filter((r) => ours.test(r.name)).length).toBeGreaterThan(10);
    const without = withoutHtpasswd;
    expect(without.ofType("aws:secretsmanager/secretRotation:SecretRotation")).toEqual([]);
    expect(without.resources.map((r) => r.name).filter((n) => ours.test(n))).toEqual([]);
    expect(without.builds.map((b) => b.functionID).sort()).toEqual(["Api", "AuditScan", "Deliver", "OnSecretChange", "Reconcile", "Refresh"]);
    expect(Object.keys(without.outputs).filter((k) => /rotat|revoke/i.test(k))).toEqual([]);
    // No function is attached to a VPC or mounts a file system.
    for (const fn of without.ofType("aws:lambda/function:Function")) {
      expect(input(fn, "vpcConfig"), fn.name).toBeUndefined();
      expect(input(fn, "fileSystemConfig"), fn.name).toBeUndefined();
    }
  });
});

describe("the rotate function", () => {
  it("runs functions/rotate.handler on Node 22, arm64, 512 MB, 5 minutes, traced, Lambda-only role, logs through the basic managed policy only", () => {
    const { fn, role } = rotationFlow().rotate;
    expect(input(fn, "handler")).toBe("functions/rotate.handler");
    expect(input(fn, "runtime")).toBe("nodejs22.x");
    expect(input(fn, "architectures")).toEqual(["arm64"]);
    expect(input(fn, "memorySize")).toBe(512);
    expect(input(fn, "timeout")).toBe(300);
    expect(input(fn, "tracingConfig")).toEqual({ mode: "Active" });
    expect(input(fn, "role")).toBe(arnOf(role));
    expect(trustedPrincipals(role)).toEqual({ Service: ["lambda.amazonaws.com"] });
    // Not AWSLambdaVPCAccessExecutionRole: its EC2 actions are granted inline, scoped.
    expect(input(role, "managedPolicyArns")).toEqual(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
    // Secrets Manager invokes it synchronously and retries itself: no asynchronous retries or destination.
    expect(run.ofType("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").map((c) => c.name)).not.toContain("RotateEventInvokeConfig");
  });

  it("runs in the access point's subnets with its security groups, and mounts it at /mnt/htpasswd", () => {
    const { fn } = rotationFlow().rotate;
    expect(input(fn, "vpcConfig")).toEqual({ subnetIds: SUBNETS, securityGroupIds: SECURITY_GROUPS });
    expect(input(fn, "fileSystemConfig")).toEqual({ arn: ACCESS_POINT, localMountPath: "/mnt/htpasswd" });
    // Every rotated registry's file is below the mount.
    for (const r of config.registries.filter((r) => plan.registries.some((p) => p.id === r.id))) {
      expect(htpasswdSourceOf(r)?.file.startsWith("/mnt/htpasswd/")).toBe(true);
    }
  });

  it("gets the table, bus, fingerprint key and config through its environment, and ships the validated file", () => {
    const { table, bus, secret } = refreshFlow(run);
    expect(env(rotationFlow().rotate.fn)).toMatchObject({
      PULLKEEPER_TABLE: input(table, "name"),
      PULLKEEPER_BUS: input(bus, "name"),
      PULLKEEPER_FINGERPRINT_KEY_SECRET: arnOf(secret),
      PULLKEEPER_CONFIG: "pullkeeper.json",
      POWERTOOLS_SERVICE_NAME: "pullkeeper",
      POWERTOOLS_METRICS_NAMESPACE: "Pullkeeper",
    });
    const build = run.builds.find((b) => b.functionID === "Rotate");
    expect(build).toMatchObject({ handler: "functions/rotate.handler", runtime: "nodejs22.x", links: {}, properties: { splitting: true }, copyFiles: [shippedConfigOf(run, FIXTURE).copyFile] });
    const zip = readZip(path.join(run.workDir, "artifacts", "Rotate", "code.zip"));
    expect(zip.get("pullkeeper.json")?.toString("utf8")).toBe(shippedConfigOf(run, FIXTURE).json);
  });

  it("has exactly the IAM statements rotatePermissions derives: the rotated secrets, lifecycle ledger, bus, fingerprint key, EFS and VPC", () => {
    const { table, bus, secret } = refreshFlow(run);
    const statements = inlineStatements(rotationFlow().rotate.role);
    expect(statements).toEqual(rotatePermissions(plan, ctx()));
    expect(statements).toEqual([
      {
        actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        resources: [HARBOR_SECRET, MIRROR_SECRET],
      },
      { actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], resources: [arnOf(secret)] },
      { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:DeleteItem"], resources: [arnOf(table)] },
      { actions: ["events:PutEvents"], resources: [arnOf(bus)] },
      { actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], resources: [FILE_SYSTEM] },
      {
        actions: ["ec2:CreateNetworkInterface"],
        resources: [
          "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0aaaaaaaaaaaaaaa1",
          "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0bbbbbbbbbbbbbbb2",
          "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0ccccccccccccccc3",
          "arn:aws:ec2:eu-west-1:123456789012:network-interface/*",
        ],
      },
      { actions: ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], resources: ["arn:aws:ec2:eu-west-1:123456789012:network-interface/*"] },
      { actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], resources: ["*"] },
      { actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] },
    ]);
    expectLeastPrivilege(statements);
    // Neither the ECR registry's secret nor the embedded runtime's registry's.
    expect(JSON.stringify(statements)).not.toMatch(/prod-ecr|pullkeeper\/local/);
  });

  it("an alarm fires on any failed rotation step", () => {
    const { rotate, alarms } = rotationFlow();
    expect(alarms.rotationErrors.inputs).toMatchObject({
      name: "pullkeeper-test-rotation-errors",
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: input(rotate.fn, "name") },
      statistic: "Sum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      evaluationPeriods: 1,
      treatMissingData: "notBreaching",
    });
  });
});

describe("the Secrets Manager rotations", () => {
  it("one per rotated registry's secret, on its source.rotation, with the rotate function; a deploy never rotates by itself", () => {
    const { rotate, rotations } = rotationFlow();
    expect(rotations.map((r) => r.name)).toEqual(["Rotation-harbor", "Rotation-mirror"]);
    expect(rotations.map((r) => r.inputs)).toEqual([
      { secretId: "pullkeeper/harbor", rotationLambdaArn: arnOf(rotate.fn), rotationRules: { scheduleExpression: "rate(1 day)" }, rotateImmediately: false },
      { secretId: MIRROR_SECRET, rotationLambdaArn: arnOf(rotate.fn), rotationRules: { scheduleExpression: "cron(0 4/12 * * ? *)" }, rotateImmediately: false },
    ]);
  });

  it("Secrets Manager may invoke the rotate function, for exactly those secrets (sourceArn)", () => {
    const { rotate, permissions } = rotationFlow();
    expect(permissions.map((p) => [p.name, p.inputs])).toEqual([
      ["RotationPermission-harbor", { action: "lambda:InvokeFunction", function: arnOf(rotate.fn), principal: "secretsmanager.amazonaws.com", sourceArn: HARBOR_SECRET }],
      ["RotationPermission-mirror", { action: "lambda:InvokeFunction", function: arnOf(rotate.fn), principal: "secretsmanager.amazonaws.com", sourceArn: MIRROR_SECRET }],
    ]);
    // Nothing else may invoke it.
    const all = run.ofType("aws:lambda/permission:Permission").filter((p) => input(p, "function") === arnOf(rotate.fn));
    expect(all.map((p) => p.name)).toEqual(["RotationPermission-harbor", "RotationPermission-mirror"]);
  });
});

describe("the revoke function", () => {
  it("runs functions/revoke.handler one at a time, traced, Lambda-only role, in the same VPC with the same mount", () => {
    const { fn, role } = rotationFlow().revoke;
    expect(input(fn, "handler")).toBe("functions/revoke.handler");
    expect(input(fn, "runtime")).toBe("nodejs22.x");
    expect(input(fn, "architectures")).toEqual(["arm64"]);
    expect(input(fn, "timeout")).toBe(300);
    expect(input(fn, "reservedConcurrentExecutions")).toBe(1);
    expect(input(fn, "tracingConfig")).toEqual({ mode: "Active" });
    expect(trustedPrincipals(role)).toEqual({ Service: ["lambda.amazonaws.com"] });
    expect(input(role, "managedPolicyArns")).toEqual(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
    expect(input(fn, "vpcConfig")).toEqual({ subnetIds: SUBNETS, securityGroupIds: SECURITY_GROUPS });
    expect(input(fn, "fileSystemConfig")).toEqual({ arn: ACCESS_POINT, localMountPath: "/mnt/htpasswd" });
    const { table, bus, secret } = refreshFlow(run);
    expect(env(fn)).toMatchObject({ PULLKEEPER_TABLE: input(table, "name"), PULLKEEPER_BUS: input(bus, "name"), PULLKEEPER_FINGERPRINT_KEY_SECRET: arnOf(secret), PULLKEEPER_CONFIG: "pullkeeper.json" });
    expect(run.builds.find((b) => b.functionID === "Revoke")).toMatchObject({ handler: "functions/revoke.handler", links: {}, copyFiles: [shippedConfigOf(run, FIXTURE).copyFile] });
  });

  it("has exactly the IAM statements revokePermissions derives: the rotated secrets (rollback writes and promotes), the lifecycle ledger, bus, EFS, VPC, its failure queue", () => {
    const flow = rotationFlow();
    const statements = inlineStatements(flow.revoke.role);
    expect(statements).toEqual(revokePermissions(plan, { ...ctx(), failuresQueueArn: arnOf(flow.failures) }));
    // Revocation reads the secrets; a rollback (POST /v1/registries/{id}/rollback) writes the restored value as a new version and promotes it.
    expect(statements.slice(0, 1)).toEqual([
      {
        actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        resources: [HARBOR_SECRET, MIRROR_SECRET],
      },
    ]);
    // Writes only the rotated secrets and the fingerprint key (its first use); promotes only the rotated secrets.
    expect(statements.filter((s) => s.actions.includes("secretsmanager:PutSecretValue")).map((s) => s.resources)).toEqual([[HARBOR_SECRET, MIRROR_SECRET], [arnOf(refreshFlow(run).secret)]]);
    expect(statements.filter((s) => s.actions.includes("secretsmanager:UpdateSecretVersionStage")).map((s) => s.resources)).toEqual([[HARBOR_SECRET, MIRROR_SECRET]]);
    expect(statements.flatMap((s) => s.actions)).not.toContain("secretsmanager:RotateSecret");
    expect(statements).toContainEqual({ actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:DeleteItem"], resources: [arnOf(refreshFlow(run).table)] });
    expect(statements).toContainEqual({ actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], resources: [FILE_SYSTEM] });
    expect(statements).toContainEqual({ actions: ["sqs:SendMessage"], resources: [arnOf(flow.failures)] });
    // The same VPC statements as rotate's.
    const ec2 = (s: { actions: string[] }) => s.actions.some((a) => a.startsWith("ec2:"));
    expect(statements.filter(ec2)).toEqual(inlineStatements(flow.rotate.role).filter(ec2));
    expectLeastPrivilege(statements);
  });

  it("retries a failed run once, then sends it (or a tick queued over 15 minutes) to its failure queue", () => {
    const { revoke, failures } = rotationFlow();
    expect(input(revoke.invokeConfig, "functionName")).toBe(input(revoke.fn, "name"));
    expect(input(revoke.invokeConfig, "maximumRetryAttempts")).toBe(1);
    expect(input(revoke.invokeConfig, "maximumEventAgeInSeconds")).toBe(900);
    expect(input(revoke.invokeConfig, "destinationConfig")).toEqual({ onFailure: { destination: arnOf(failures) } });
    expect(input(failures, "sqsManagedSseEnabled")).toBe(true);
    expect(input(failures, "messageRetentionSeconds")).toBe(14 * 24 * 3600);
  });
});

describe("the revoke schedule", () => {
  it("is an EventBridge Scheduler schedule on settings.revokeSchedule in settings.timezone, its role invoking only revoke, its dead letters in the failure queue", () => {
    const { schedule, revoke, failures } = rotationFlow();
    expect(config.settings.revokeSchedule).toBe("rate(30 minutes)");
    expectScheduledInvocation(run, schedule, {
      fn: revoke.fn,
      deadLetters: failures,
      expression: "rate(30 minutes)",
      timezone: "UTC",
      input: schedulerInput("revoke"),
      maxEventAgeSeconds: 900,
      account: FAKE_ACCOUNT,
    });
    expect(run.ofType("aws:sqs/queuePolicy:QueuePolicy").filter((p) => String(input(p, "queueUrl")).endsWith(`/${input<string>(failures, "name")}`))).toEqual([]);
  });

  it("an alarm fires on a lost or failed revoke run", () => {
    const { failures, alarms } = rotationFlow();
    expect(alarms.revokeFailures.inputs).toMatchObject({
      name: "pullkeeper-test-revoke-failures",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: input(failures, "name") },
      statistic: "Maximum",
      period: 60,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      treatMissingData: "notBreaching",
    });
  });
});

describe("the audit API with the rotation stack", () => {
  const apiRole = (from: SstRun) => inlineStatements(lambda(from, "Api").role);
  const apiCtx = (from: SstRun) => {
    const { table, bus, secret, fn: refreshFn } = refreshFlow(from);
    return {
      ...here,
      tableArn: arnOf(table),
      busArn: arnOf(bus),
      fingerprintKeySecretArn: arnOf(secret),
      deliveryQueueArn: arnOf(propagationFlow(from).deliveries),
      refreshFunctionArn: arnOf(refreshFn),
      auditScanFunctionArn: arnOf(lambda(from, "AuditScan").fn),
    };
  };

  it("names the revoke function (rollback) in the API function's environment; not without htpasswd registries", () => {
    const { revoke } = rotationFlow();
    expect(env(lambda(run, "Api").fn)).toMatchObject({ PULLKEEPER_REVOKE_FUNCTION: input(revoke.fn, "name") });
    expect(env(lambda(withoutHtpasswd, "Api").fn)).not.toHaveProperty("PULLKEEPER_REVOKE_FUNCTION");
  });

  it("the API role may RotateSecret exactly the rotated secrets and invoke the revoke (rollback) and rotate (see apiRotationPermissions) functions; nothing more", () => {
    const { rotate, revoke } = rotationFlow();
    const statements = apiRole(run);
    const rotation = { plan, rotateFunctionArn: arnOf(rotate.fn), revokeFunctionArn: arnOf(revoke.fn) };
    expect(statements).toEqual(apiPermissions(config, { ...apiCtx(run), rotation }));
    const added = apiRotationPermissions(plan, { ...here, ...rotation });
    expect(added).toEqual([
      { actions: ["secretsmanager:RotateSecret"], resources: [HARBOR_SECRET, MIRROR_SECRET] },
      { actions: ["lambda:InvokeFunction"], resources: [arnOf(revoke.fn), arnOf(rotate.fn)] },
    ]);
    // Exactly those on top of what the API has without the rotation stack.
    expect(statements.filter((s) => !added.some((a) => JSON.stringify(a) === JSON.stringify(s)))).toEqual(apiPermissions(config, apiCtx(run)));
    const byAction = (action: string) => statements.filter((s) => s.actions.includes(action)).flatMap((s) => s.resources);
    expect(byAction("secretsmanager:RotateSecret")).toEqual([HARBOR_SECRET, MIRROR_SECRET]);
    expect(byAction("lambda:InvokeFunction")).toEqual([arnOf(refreshFlow(run).fn), arnOf(lambda(run, "AuditScan").fn), arnOf(revoke.fn), arnOf(rotate.fn)]);
    // The API never writes or promotes a registry's secret itself.
    expect(statements.flatMap((s) => s.actions)).not.toContain("secretsmanager:UpdateSecretVersionStage");
    // Neither the ECR registry's secret nor the embedded runtime's registry's is rotated on demand.
    expect(JSON.stringify(statements.filter((s) => s.actions.includes("secretsmanager:RotateSecret")))).not.toMatch(/prod-ecr|pullkeeper\/local/);
    expectLeastPrivilege(statements);
  });

  it("without htpasswd registries the API role has no RotateSecret and invokes only refresh and audit-scan", () => {
    const statements = apiRole(withoutHtpasswd);
    const withoutConfig = read(WITHOUT_HTPASSWD);
    expect(statements).toEqual(apiPermissions(withoutConfig, apiCtx(withoutHtpasswd)));
    expect(statements.flatMap((s) => s.actions)).not.toContain("secretsmanager:RotateSecret");
    expect(statements.filter((s) => s.actions.includes("lambda:InvokeFunction")).flatMap((s) => s.resources)).toEqual([arnOf(refreshFlow(withoutHtpasswd).fn), arnOf(lambda(withoutHtpasswd, "AuditScan").fn)]);
  });
});

describe("the stack outputs", () => {
  it("name the rotation flow's functions, queue and alarms", () => {
    const { rotate, revoke, failures, alarms } = rotationFlow();
    expect(run.outputs).toMatchObject({
      rotateFunction: input(rotate.fn, "name"),
      revokeFunction: input(revoke.fn, "name"),
      revokeFailuresQueue: `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${input<string>(failures, "name")}`,
      rotationErrorsAlarm: input(alarms.rotationErrors, "name"),
      revokeFailuresAlarm: input(alarms.revokeFailures, "name"),
    });
  });
});
