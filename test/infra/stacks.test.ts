import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { validateConfig } from "../../packages/core/src/config/config-document.js";
import { schedulerInput } from "../../packages/core/src/config/schedule-input.js";
import { beforeAll, describe, expect, it } from "vitest";
import { ledgerTableDefinition } from "../../packages/aws/src/ledger-table.js";
import { loadDeployConfig, refreshPermissions, TRACING_PERMISSIONS, type DeployConfig } from "../../stacks/config.js";
import { arnOf, expectScheduledInvocation, inlineStatements, input, propagationFlow, refreshFlow, trustedPrincipals } from "./declared";
import { expectLeastPrivilege } from "./iam-invariants";
import { ensureSstPlatform, FAKE_ACCOUNT, FAKE_PARTITION, FAKE_REGION, readZip, REPO_ROOT, runSstApp, type SstRun } from "./sst-harness";
import { shippedConfigOf } from "./shipped-config.js";

/**
 * Runs the real sst.config.ts → stacks/ with the real SST components under Pulumi mocks
 * (test/infra/sst-harness.ts), stage "test", with the smallest config the deploy takes (the repo's
 * pullkeeper.yaml is the embedded runtime's, which the deploy refuses), and checks what would be
 * deployed.
 */
const FIXTURE = "test/infra/fixtures/pullkeeper.deploy.yaml";
let run: SstRun;
let deployConfig: DeployConfig;
let flow: ReturnType<typeof refreshFlow>;

beforeAll(async () => {
  ensureSstPlatform();
  deployConfig = loadDeployConfig({ PULLKEEPER_CONFIG: FIXTURE }, REPO_ROOT);
  run = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: FIXTURE } });
  flow = refreshFlow(run);
}, 10 * 60_000);

describe("refresh function", () => {
  it("runs functions/refresh.handler on Node 22, arm64, 512 MB, 5 minutes, one at a time, traced", () => {
    const { fn } = flow;
    expect(input(fn, "handler")).toBe("functions/refresh.handler");
    expect(input(fn, "runtime")).toBe("nodejs22.x");
    expect(input(fn, "architectures")).toEqual(["arm64"]);
    expect(input(fn, "memorySize")).toBe(512);
    expect(input(fn, "timeout")).toBe(300);
    expect(input(fn, "reservedConcurrentExecutions")).toBe(1);
    expect(input(fn, "tracingConfig")).toEqual({ mode: "Active" });
    expect(input(fn, "packageType")).toBe("Zip");
    expect(input(fn, "role")).toBe(`arn:aws:iam::${FAKE_ACCOUNT}:role/${input<string>(flow.role, "name")}`);
  });

  it("gets the table, bus, config file and fingerprint key through its environment", () => {
    const env = input<Record<string, string>>(flow.fn, "environment", "variables");
    expect(env).toMatchObject({
      PULLKEEPER_TABLE: input(flow.table, "name"),
      PULLKEEPER_BUS: input(flow.bus, "name"),
      PULLKEEPER_CONFIG: "pullkeeper.json",
      PULLKEEPER_FINGERPRINT_KEY_SECRET: arnOf(flow.secret),
      POWERTOOLS_SERVICE_NAME: "pullkeeper",
      POWERTOOLS_METRICS_NAMESPACE: "Pullkeeper",
    });
  });

  it("is built from the handler with the validated config's document copied in as pullkeeper.json, the JSON the functions read", () => {
    // Refresh, the three propagation functions (test/infra/stacks-propagation.test.ts), audit-scan and the API (test/infra/stacks-audit.test.ts).
    expect(run.builds.map((b) => b.functionID).sort()).toEqual(["Api", "AuditScan", "Deliver", "OnSecretChange", "Reconcile", "Refresh"]);
    expect(run.builds.find((b) => b.functionID === "Refresh")).toMatchObject({
      functionID: "Refresh",
      handler: "functions/refresh.handler",
      runtime: "nodejs22.x",
      properties: { architecture: "arm64" },
      copyFiles: [shippedConfigOf(run, FIXTURE).copyFile],
      // Nothing is `link`ed (a link would also grant wildcard actions such as dynamodb:*).
      links: {},
    });
    // Every function is bundled with code splitting, so providers' clients load only when used (stacks/lambda.ts).
    for (const build of run.builds) expect(build.properties, build.functionID).toMatchObject({ splitting: true });
    // The zip SST uploads (written by SST's own packaging code) holds the YAML's document as JSON,
    // which validates to the very config the deploy checked: no function parses YAML.
    const zip = readZip(path.join(run.workDir, "artifacts", "Refresh", "code.zip"));
    expect([...zip.keys()]).toEqual(expect.arrayContaining(["pullkeeper.json", "functions/refresh.mjs"]));
    expect(zip.has("pullkeeper.yaml")).toBe(false);
    const shipped = zip.get("pullkeeper.json")?.toString("utf8") ?? "";
    expect(JSON.parse(shipped)).toEqual(parse(readFileSync(deployConfig.file, "utf8")));
    expect(validateConfig(JSON.parse(shipped))).toEqual(deployConfig.config);
  });

  it("has exactly the IAM statements refreshPermissions derives from the config, plus tracing and its failure queue", () => {
    const statements = inlineStatements(flow.role);
    expect(statements).toEqual([
      ...refreshPermissions(deployConfig.config, {
        partition: FAKE_PARTITION,
        region: FAKE_REGION,
        account: FAKE_ACCOUNT,
        tableArn: arnOf(flow.table),
        busArn: arnOf(flow.bus),
        fingerprintKeySecretArn: arnOf(flow.secret),
      }),
      ...TRACING_PERMISSIONS,
      { actions: ["sqs:SendMessage"], resources: [arnOf(flow.queue)] },
    ]);
    expectLeastPrivilege(statements);
    // Logs only, through the AWS managed policy SST attaches.
    expect(input(flow.role, "managedPolicyArns")).toEqual(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
  });

  it("can be assumed by Lambda only (not by the account root, which SST adds by default)", () => {
    expect(trustedPrincipals(flow.role)).toEqual({ Service: ["lambda.amazonaws.com"] });
  });

  it("retries a failed run once, drops runs queued for over 15 minutes, and sends both to the failure queue", () => {
    const { invokeConfig, queue, fn } = flow;
    expect(input(invokeConfig, "functionName")).toBe(input(fn, "name"));
    expect(input(invokeConfig, "maximumRetryAttempts")).toBe(1);
    expect(input(invokeConfig, "maximumEventAgeInSeconds")).toBe(900);
    expect(input(invokeConfig, "destinationConfig")).toEqual({ onFailure: { destination: arnOf(queue) } });
    expect(input(queue, "messageRetentionSeconds")).toBe(14 * 24 * 3600);
    expect(input(queue, "sqsManagedSseEnabled")).toBe(true);
  });
});

describe("refresh schedule", () => {
  it("is an EventBridge Scheduler schedule on settings.refreshSchedule in settings.timezone, its role invoking only the function, its dead letters in the failure queue", () => {
    expect(deployConfig.config.settings.refreshSchedule).toMatch(/^(rate|cron)\(/);
    expectScheduledInvocation(run, flow.schedule, {
      fn: flow.fn,
      deadLetters: flow.queue,
      expression: deployConfig.config.settings.refreshSchedule,
      timezone: "UTC",
      input: schedulerInput("refresh"),
      maxEventAgeSeconds: 900,
      account: FAKE_ACCOUNT,
    });
    expect(input(flow.schedule.schedule, "name")).toBe("pullkeeper-test-refresh");
  });

  it("sends an input the handler accepts once the Scheduler has filled in its context attributes", async () => {
    const { RefreshEventSchema } = await import("../../functions/refresh.js");
    const sent = input<string>(flow.schedule.schedule, "target", "input")
      .replace("<aws.scheduler.schedule-arn>", arnOf(flow.schedule.schedule))
      .replace("<aws.scheduler.scheduled-time>", "2026-11-23T03:00:00Z")
      .replace("<aws.scheduler.execution-id>", "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa");
    expect(RefreshEventSchema.parse(JSON.parse(sent))).toMatchObject({ source: "aws.scheduler", resources: [arnOf(flow.schedule.schedule)], account: FAKE_ACCOUNT, region: FAKE_REGION, detail: {} });
    // The envelope of an on-demand invocation (the API) still passes; nothing else does.
    const scheduledEvent = {
      version: "0",
      id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: FAKE_ACCOUNT,
      time: "2026-11-23T03:00:00Z",
      region: FAKE_REGION,
      resources: [],
      detail: {},
    };
    expect(RefreshEventSchema.safeParse(scheduledEvent).success).toBe(true);
    expect(RefreshEventSchema.safeParse({}).success).toBe(false);
  });

  it("the failure queue has no resource policy: the schedule sends with its role, and no rule needs one", () => {
    expect(run.ofType("aws:sqs/queuePolicy:QueuePolicy").filter((p) => input(p, "queueUrl") === `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${input<string>(flow.queue, "name")}`)).toEqual([]);
  });
});

describe("storage", () => {
  it("declares the ledger table with the keys and index the DynamoDB adapter uses", () => {
    const { table } = flow;
    const expected = ledgerTableDefinition("ignored");
    expect(input(table, "billingMode")).toBe(expected.BillingMode);
    expect(input(table, "hashKey")).toBe("pk");
    expect(input(table, "rangeKey")).toBe("sk");
    expect(input(table, "attributes")).toEqual(expected.AttributeDefinitions?.map((a) => ({ name: a.AttributeName, type: a.AttributeType })));
    expect(input(table, "globalSecondaryIndexes")).toEqual(
      expected.GlobalSecondaryIndexes?.map((g) => ({
        name: g.IndexName,
        hashKey: g.KeySchema?.find((k) => k.KeyType === "HASH")?.AttributeName,
        rangeKey: g.KeySchema?.find((k) => k.KeyType === "RANGE")?.AttributeName,
        projectionType: g.Projection?.ProjectionType,
      })),
    );
    expect(input(table, "globalSecondaryIndexes")).toEqual([{ name: "gsi1", hashKey: "gsi1pk", rangeKey: "gsi1sk", projectionType: "ALL" }]);
    expect(input(table, "pointInTimeRecovery")).toEqual({ enabled: true });
    expect(input(table, "ttl")).toBeUndefined();
    expect(input(table, "streamEnabled")).toBe(false);
  });

  it("outside production the table can be removed with the stage", () => {
    expect(input(flow.table, "deletionProtectionEnabled")).toBe(false);
    expect(flow.table.retainOnDelete).toBe(false);
    expect(input(flow.secret, "recoveryWindowInDays")).toBe(0);
    expect(flow.secret.retainOnDelete).toBe(false);
  });

  it("declares the fingerprint key secret without a value", () => {
    expect(input(flow.secret, "name")).toBe("pullkeeper/test/fingerprint-key");
    expect(input(flow.secret, "kmsKeyId")).toBeUndefined();
    expect(run.ofType("aws:secretsmanager/secretVersion:SecretVersion")).toEqual([]);
    expect(JSON.stringify(flow.secret.inputs)).not.toMatch(/secretString|secretBinary/i);
  });

  it("names the bus for the app and stage", () => {
    expect(run.ofType("aws:cloudwatch/eventBus:EventBus")).toHaveLength(1);
    expect(input(flow.bus, "name")).toMatch(/^pullkeeper-test-EventsBus-[a-z]{8}$/);
  });
});

describe("propagation without consumers", () => {
  it("declares no Secrets Manager rule and lets no propagation function read a registry secret", () => {
    expect(deployConfig.config.consumers).toEqual([]);
    const flow = propagationFlow(run);
    expect(flow.secretRules).toEqual([]);
    for (const role of [flow.onSecretChange.role, flow.reconcile.role, flow.deliver.role]) {
      const resources = inlineStatements(role).flatMap((s) => s.resources);
      // Only the fingerprint key.
      expect(resources.filter((r) => r.includes(":secretsmanager:"))).toEqual([arnOf(refreshFlow(run).secret)]);
      expect(inlineStatements(role).flatMap((s) => s.actions).filter((a) => /^(codebuild|ecs|iam):/.test(a))).toEqual([]);
    }
    // Our own Credential Rotated events and the reconcile schedule are still wired.
    expect(input(flow.credentialRotated.rule, "eventBusName")).toBe(input(refreshFlow(run).bus, "name"));
    expect(input(flow.schedule.schedule, "scheduleExpression")).toBe(deployConfig.config.settings.reconcileSchedule);
  });
});

describe("the app as a whole", () => {
  it("outputs the table, bus and function names it declared", () => {
    expect(run.outputs._protect).toBe(false);
    expect(run.outputs).toMatchObject({
      table: input(flow.table, "name"),
      bus: input(flow.bus, "name"),
      refreshFunction: input(flow.fn, "name"),
      fingerprintKeySecret: arnOf(flow.secret),
    });
  });

  it("runs every function on nodejs22.x, the Node major that package.json's engines names and npm test runs the suite on", () => {
    const functions = run.ofType("aws:lambda/function:Function");
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) expect(input(fn, "runtime"), fn.name).toBe("nodejs22.x");
    for (const build of run.builds) expect(build.runtime, build.functionID).toBe("nodejs22.x");
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { engines: { node: string }; scripts: Record<string, string> };
    expect(pkg.engines.node.split("||").map((range) => range.trim())).toEqual(["^20.19.0", "^22.12.0"]);
    expect(pkg.scripts.test).toMatch(/&& npm run test:node22$/);
    expect(readFileSync(path.join(REPO_ROOT, "scripts", "test-node22.mjs"), "utf8")).toMatch(/^const LAMBDA_MAJOR = 22;$/m);
  });

  it("grants no wildcard action and no `*` resource beyond the token and tracing APIs, in any role", () => {
    const roles = run.ofType("aws:iam/role:Role");
    expect(roles.map((r) => r.name).sort()).toEqual([
      "ApiRole",
      "AuditOperatorRole",
      "AuditReaderRole",
      "AuditScanRole",
      "AuditScheduleRole",
      "DeliverRole",
      "OnSecretChangeRole",
      "ReconcileRole",
      "ReconcileScheduleRole",
      "RefreshRole",
      "RefreshScheduleRole",
    ]);
    for (const role of roles) expectLeastPrivilege(inlineStatements(role));
    expect(run.ofType("aws:iam/policy:Policy")).toEqual([]);
    expect(run.ofType("aws:iam/rolePolicy:RolePolicy")).toEqual([]);
  });

  it("declares exactly the refresh, propagation, audit and API resources (no Secrets Manager rule: the config has no consumer)", () => {
    const types = run.resources.filter((r) => !r.type.startsWith("sst:") && !r.type.startsWith("pulumi:")).map((r) => `${r.type} ${r.name}`);
    expect(types.sort()).toEqual(
      [
        "aws:cloudwatch/eventBus:EventBus EventsBus",
        "aws:scheduler/schedule:Schedule RefreshSchedule",
        "aws:iam/role:Role RefreshScheduleRole",
        "aws:cloudwatch/logGroup:LogGroup RefreshLogGroup",
        "aws:dynamodb/table:Table LedgerTable",
        "aws:iam/role:Role RefreshRole",
        "aws:lambda/function:Function RefreshFunction",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig RefreshEventInvokeConfig",
        "aws:s3/bucketObjectv2:BucketObjectv2 RefreshCode",
        "aws:secretsmanager/secret:Secret FingerprintKey",
        "aws:sqs/queue:Queue RefreshFailuresQueue",
        "random:index/randomBytes:RandomBytes LambdaEncryptionKey",
        // Propagation: queues, three functions, their triggers, alarms.
        "aws:sqs/queue:Queue DeliveriesQueue",
        "aws:sqs/queue:Queue DeliveryDeadLettersQueue",
        "aws:sqs/queue:Queue PropagationFailuresQueue",
        "aws:sqs/queuePolicy:QueuePolicy PropagationFailuresPolicy",
        ...["OnSecretChange", "Reconcile", "Deliver"].flatMap((f) => [
          `aws:cloudwatch/logGroup:LogGroup ${f}LogGroup`,
          `aws:iam/role:Role ${f}Role`,
          `aws:lambda/function:Function ${f}Function`,
          `aws:s3/bucketObjectv2:BucketObjectv2 ${f}Code`,
        ]),
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig OnSecretChangeEventInvokeConfig",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig ReconcileEventInvokeConfig",
        "aws:lambda/eventSourceMapping:EventSourceMapping DeliverSubscription",
        "aws:cloudwatch/eventRule:EventRule CredentialRotatedRule",
        "aws:cloudwatch/eventTarget:EventTarget CredentialRotatedTarget",
        "aws:lambda/permission:Permission CredentialRotatedPermission",
        "aws:scheduler/schedule:Schedule ReconcileSchedule",
        "aws:iam/role:Role ReconcileScheduleRole",
        "aws:cloudwatch/metricAlarm:MetricAlarm DeliveryDeadLettersAlarm",
        "aws:cloudwatch/metricAlarm:MetricAlarm DeliveryAgeAlarm",
        "aws:cloudwatch/metricAlarm:MetricAlarm PropagationFailuresAlarm",
        // Audit: the scan function, its schedule, failure queue and alarms.
        "aws:sqs/queue:Queue AuditFailuresQueue",
        "aws:cloudwatch/logGroup:LogGroup AuditScanLogGroup",
        "aws:iam/role:Role AuditScanRole",
        "aws:lambda/function:Function AuditScanFunction",
        "aws:s3/bucketObjectv2:BucketObjectv2 AuditScanCode",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig AuditScanEventInvokeConfig",
        "aws:scheduler/schedule:Schedule AuditSchedule",
        "aws:iam/role:Role AuditScheduleRole",
        "aws:cloudwatch/metricAlarm:MetricAlarm ExpiredEnvironmentsAlarm",
        "aws:cloudwatch/metricAlarm:MetricAlarm EarliestExpiryAlarm",
        "aws:cloudwatch/metricAlarm:MetricAlarm DiscoveryFailuresAlarm",
        "aws:cloudwatch/metricAlarm:MetricAlarm AuditFailuresAlarm",
        // The audit API: one function, the HTTP API with its stage and access log, four routes, two roles.
        "aws:cloudwatch/logGroup:LogGroup ApiLogGroup",
        "aws:iam/role:Role ApiRole",
        "aws:lambda/function:Function ApiFunction",
        "aws:s3/bucketObjectv2:BucketObjectv2 ApiCode",
        "aws:apigatewayv2/api:Api AuditApiApi",
        "aws:apigatewayv2/stage:Stage AuditApiStage",
        "aws:cloudwatch/logGroup:LogGroup AuditApiAccessLog",
        // SST names a route after a hash of its key: GET /, GET /dashboard.js, GET and POST /v1/{proxy+}.
        ...["Dnvusb", "Bcrzbr", "Uktbfs", "Fczked"].flatMap((route) => [
          `aws:apigatewayv2/route:Route AuditApiRoute${route}Route`,
          `aws:apigatewayv2/integration:Integration AuditApiRoute${route}Integration`,
          `aws:lambda/permission:Permission AuditApiRoute${route}Permissions`,
        ]),
        "aws:iam/role:Role AuditReaderRole",
        "aws:iam/role:Role AuditOperatorRole",
      ].sort(),
    );
  });
});
