import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { schedulerInput } from "../../packages/core/src/config/schedule-input.js";
import { API_ROUTES, API_STAGE, READ_ROUTES } from "../../stacks/api-access.js";
import { AUDIT_SCAN_SERVICE, DISCOVERY_FAILURE_PERIODS, EARLIEST_EXPIRY_ALARM_MINUTES } from "../../stacks/audit-config.js";
import { apiPermissions, auditScanPermissions } from "../../stacks/audit-permissions.js";
import { arnOf, expectScheduledInvocation, inlineStatements, input, lambda, propagationFlow, refreshFlow, scheduled, trustedPrincipals } from "./declared";
import { allowsInvoke, requestArn } from "./execute-api";
import { expectLeastPrivilege } from "./iam-invariants";
import { ensureSstPlatform, FAKE_ACCOUNT, FAKE_PARTITION, FAKE_REGION, readZip, REPO_ROOT, runSstApp, SstRunError, type DeclaredResource, type SstRun } from "./sst-harness";
import { shippedConfigOf } from "./shipped-config.js";

/**
 * The real sst.config.ts → stacks/ under Pulumi mocks (test/infra/sst-harness.ts), stage "test",
 * with a fixture that has a consumer of every kind (some opted in to restart) and its own audit
 * schedule, and with named audit readers (settings.api); and with a leftover PULLKEEPER_AUDIT_READERS.
 */
const FIXTURE = "test/infra/fixtures/pullkeeper.audit.yaml";
const READERS = ["arn:aws:iam::123456789012:role/oncall", "arn:aws:iam::210987654321:root"];

const config = parseConfig(readFileSync(path.join(REPO_ROOT, FIXTURE), "utf8"), FIXTURE);
const here = { partition: FAKE_PARTITION, region: FAKE_REGION, account: FAKE_ACCOUNT };

let invalid: unknown;
let run: SstRun;

beforeAll(async () => {
  ensureSstPlatform();
  invalid = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: FIXTURE, PULLKEEPER_AUDIT_READERS: "arn:aws:iam::123456789012:role/oncall" } }).then(
    () => undefined,
    (error: unknown) => error,
  );
  run = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: FIXTURE } });
}, 10 * 60_000);

const env = (fn: DeclaredResource) => input<Record<string, string>>(fn, "environment", "variables");
const queueUrl = (queue: DeclaredResource) => `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${input<string>(queue, "name")}`;

function auditFlow() {
  const alarm = (name: string) => run.get("aws:cloudwatch/metricAlarm:MetricAlarm", name);
  return {
    ...lambda(run, "AuditScan"),
    invokeConfig: run.get("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "AuditScanEventInvokeConfig"),
    schedule: scheduled(run, "AuditSchedule"),
    failures: run.get("aws:sqs/queue:Queue", "AuditFailuresQueue"),
    alarms: {
      expired: alarm("ExpiredEnvironmentsAlarm"),
      earliestExpiry: alarm("EarliestExpiryAlarm"),
      discoveryFailures: alarm("DiscoveryFailuresAlarm"),
      failures: alarm("AuditFailuresAlarm"),
    },
  };
}

function apiFlow() {
  return {
    ...lambda(run, "Api"),
    api: run.get("aws:apigatewayv2/api:Api", "AuditApiApi"),
    stage: run.get("aws:apigatewayv2/stage:Stage", "AuditApiStage"),
    routes: run.ofType("aws:apigatewayv2/route:Route"),
    integrations: run.ofType("aws:apigatewayv2/integration:Integration"),
    permissions: run.ofType("aws:lambda/permission:Permission").filter((p) => p.name.startsWith("AuditApiRoute")),
    reader: run.get("aws:iam/role:Role", "AuditReaderRole"),
    operator: run.get("aws:iam/role:Role", "AuditOperatorRole"),
  };
}

const executionArn = () => `arn:aws:execute-api:${FAKE_REGION}:${FAKE_ACCOUNT}:AuditApiApi-id`;

describe("a leftover PULLKEEPER_AUDIT_READERS (the principals are in the file now)", () => {
  it("fails the deploy showing what to write in the file, and declares nothing", () => {
    expect(invalid).toBeInstanceOf(SstRunError);
    const message = (invalid as SstRunError).message;
    expect(message).toMatch(new RegExp(`^PULLKEEPER_AUDIT_READERS is no longer read: who may call the audit API is set in ${FIXTURE.replaceAll(".", "\\.")}`));
    expect(message).toContain("\n  settings:\n    api:\n      readers: [arn:aws:iam::123456789012:role/oncall]");
    expect((invalid as SstRunError).declared.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});

describe("the audit-scan function", () => {
  it("runs functions/audit-scan.handler on Node 22, arm64, 512 MB, 5 minutes, one at a time, traced, Lambda-only role", () => {
    const { fn, role } = auditFlow();
    expect(input(fn, "handler")).toBe("functions/audit-scan.handler");
    expect(input(fn, "runtime")).toBe("nodejs22.x");
    expect(input(fn, "architectures")).toEqual(["arm64"]);
    expect(input(fn, "memorySize")).toBe(512);
    expect(input(fn, "timeout")).toBe(300);
    expect(input(fn, "reservedConcurrentExecutions")).toBe(1);
    expect(input(fn, "tracingConfig")).toEqual({ mode: "Active" });
    expect(input(fn, "role")).toBe(arnOf(role));
    expect(trustedPrincipals(role)).toEqual({ Service: ["lambda.amazonaws.com"] });
    expect(input(role, "managedPolicyArns")).toEqual(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
  });

  it("gets the table, bus and config through its environment, and ships the validated file", () => {
    const { table, bus } = refreshFlow(run);
    const { fn } = auditFlow();
    expect(env(fn)).toMatchObject({
      PULLKEEPER_TABLE: input(table, "name"),
      PULLKEEPER_BUS: input(bus, "name"),
      PULLKEEPER_CONFIG: "pullkeeper.json",
      POWERTOOLS_SERVICE_NAME: "pullkeeper",
      POWERTOOLS_METRICS_NAMESPACE: "Pullkeeper",
    });
    const build = run.builds.find((b) => b.functionID === "AuditScan");
    expect(build).toMatchObject({ handler: "functions/audit-scan.handler", runtime: "nodejs22.x", links: {}, copyFiles: [shippedConfigOf(run, FIXTURE).copyFile] });
    const zip = readZip(path.join(run.workDir, "artifacts", "AuditScan", "code.zip"));
    expect(zip.get("pullkeeper.json")?.toString("utf8")).toBe(shippedConfigOf(run, FIXTURE).json);
  });

  it("has exactly the IAM statements auditScanPermissions derives from the config", () => {
    const { table, bus } = refreshFlow(run);
    const flow = auditFlow();
    const statements = inlineStatements(flow.role);
    expect(statements).toEqual(auditScanPermissions(config, { ...here, tableArn: arnOf(table), busArn: arnOf(bus), failuresQueueArn: arnOf(flow.failures) }));
    expectLeastPrivilege(statements);
  });

  it("the fixture's consumers show up as the config names them; `*` only for the documented list actions", () => {
    const statements = inlineStatements(auditFlow().role);
    const byAction = (action: string) => statements.filter((s) => s.actions.includes(action));
    expect(byAction("codebuild:ListBuildsForProject").flatMap((s) => s.resources)).toEqual([
      "arn:aws:codebuild:eu-west-1:123456789012:project/build-images",
      "arn:aws:codebuild:us-east-2:123456789012:project/release",
    ]);
    expect(byAction("ecs:ListTasks")).toEqual([
      {
        actions: ["ecs:ListTasks", "ecs:DescribeTasks"],
        resources: ["*"],
        conditions: [{ test: "ArnLike", variable: "ecs:cluster", values: ["arn:aws:ecs:eu-west-1:123456789012:cluster/*", "arn:aws:ecs:us-west-2:123456789012:cluster/*"] }],
      },
    ]);
    expect(byAction("secretsmanager:GetSecretValue").flatMap((s) => s.resources)).toEqual([
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/github-token-??????",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/gitpod-token-Gp1Ab2",
    ]);
    // The webhook has no environments: its signing key is deliver's alone.
    expect(JSON.stringify(statements)).not.toContain("webhook-key");
    const onStar = statements.filter((s) => s.resources.includes("*") && !s.conditions).flatMap((s) => s.actions);
    expect(onStar.sort()).toEqual(
      ["codebuild:ListProjects", "ecs:DescribeTaskDefinition", "ecs:ListClusters", "ecs:ListTaskDefinitionFamilies", "xray:PutTelemetryRecords", "xray:PutTraceSegments"].sort(),
    );
    // Outside the ledger, the bus, its failure queue and tracing, discovery only lists, describes and reads.
    const outside = statements.flatMap((s) => s.actions).filter((a) => !/^(dynamodb|events|sqs|xray):/.test(a));
    expect(outside.filter((a) => !/:(List|Describe|BatchGet|Get)[A-Z]/.test(a))).toEqual([]);
  });

  it("retries a failed scan once, then sends it (or one queued over 15 minutes) to its failure queue", () => {
    const flow = auditFlow();
    expect(input(flow.invokeConfig, "functionName")).toBe(input(flow.fn, "name"));
    expect(input(flow.invokeConfig, "maximumRetryAttempts")).toBe(1);
    expect(input(flow.invokeConfig, "maximumEventAgeInSeconds")).toBe(900);
    expect(input(flow.invokeConfig, "destinationConfig")).toEqual({ onFailure: { destination: arnOf(flow.failures) } });
    expect(input(flow.failures, "sqsManagedSseEnabled")).toBe(true);
    expect(input(flow.failures, "messageRetentionSeconds")).toBe(14 * 24 * 3600);
  });
});

describe("the audit schedule", () => {
  it("is an EventBridge Scheduler schedule on settings.auditSchedule in settings.timezone, its role invoking only audit-scan, its dead letters in the failure queue", () => {
    const { schedule, fn, failures } = auditFlow();
    expect(config.settings.auditSchedule).toBe("rate(30 minutes)");
    expectScheduledInvocation(run, schedule, {
      fn,
      deadLetters: failures,
      expression: config.settings.auditSchedule,
      timezone: config.settings.timezone,
      input: schedulerInput("audit-scan"),
      maxEventAgeSeconds: 900,
      account: FAKE_ACCOUNT,
    });
  });

  it("the failure queue has no resource policy (the schedule sends with its role)", () => {
    const { failures } = auditFlow();
    expect(run.ofType("aws:sqs/queuePolicy:QueuePolicy").filter((p) => input(p, "queueUrl") === queueUrl(failures))).toEqual([]);
  });
});

describe("the audit alarms", () => {
  it("on audit-scan's service-level totals, one scan per period (the fixture's 30 minutes)", () => {
    const { alarms } = auditFlow();
    const common = { namespace: "Pullkeeper", dimensions: { service: AUDIT_SCAN_SERVICE }, period: 1800 };
    expect(AUDIT_SCAN_SERVICE).toBe("pullkeeper-audit-scan");
    expect(alarms.expired.inputs).toMatchObject({
      ...common,
      name: "pullkeeper-test-expired-environments",
      metricName: "ExpiredEnvironments",
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      evaluationPeriods: 1,
    });
    expect(alarms.earliestExpiry.inputs).toMatchObject({
      ...common,
      name: "pullkeeper-test-earliest-expiry",
      metricName: "MinutesToEarliestExpiry",
      statistic: "Minimum",
      comparisonOperator: "LessThanThreshold",
      threshold: EARLIEST_EXPIRY_ALARM_MINUTES,
      evaluationPeriods: 1,
      treatMissingData: "notBreaching",
    });
    expect(EARLIEST_EXPIRY_ALARM_MINUTES).toBe(120);
    expect(alarms.discoveryFailures.inputs).toMatchObject({
      ...common,
      name: "pullkeeper-test-discovery-failures",
      metricName: "DiscoveryFailures",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    });
    expect(DISCOVERY_FAILURE_PERIODS).toBe(3);
    for (const alarm of [alarms.expired, alarms.earliestExpiry, alarms.discoveryFailures]) expect(input(alarm, "dimensions"), alarm.name).toEqual({ service: AUDIT_SCAN_SERVICE });
  });

  it("on the failure queue: any message visible", () => {
    const { alarms, failures } = auditFlow();
    expect(alarms.failures.inputs).toMatchObject({
      name: "pullkeeper-test-audit-failures",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: input(failures, "name") },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      evaluationPeriods: 1,
      treatMissingData: "notBreaching",
    });
  });
});

describe("the audit API", () => {
  it("routes GET /, GET /dashboard.js, GET and POST /v1/{proxy+} to the one api function, every route IAM-authorized", () => {
    const flow = apiFlow();
    expect(flow.routes.map((r) => input(r, "routeKey")).sort()).toEqual([...API_ROUTES].sort());
    expect([...API_ROUTES]).toEqual(["GET /", "GET /dashboard.js", "GET /v1/{proxy+}", "POST /v1/{proxy+}"]);
    for (const route of flow.routes) {
      expect(input(route, "authorizationType"), input(route, "routeKey")).toBe("AWS_IAM");
      expect(input(route, "apiId")).toBe("AuditApiApi-id");
    }
    expect(flow.integrations).toHaveLength(4);
    for (const integration of flow.integrations) {
      expect(input(integration, "integrationType")).toBe("AWS_PROXY");
      expect(input(integration, "payloadFormatVersion")).toBe("2.0");
      expect(input(integration, "integrationUri")).toBe(arnOf(flow.fn));
    }
    // One function for all routes (a handler string per route would have built four).
    expect(run.ofType("aws:lambda/function:Function").filter((f) => f.name.startsWith("AuditApi"))).toEqual([]);
    for (const permission of flow.permissions) {
      expect(input(permission, "function")).toBe(arnOf(flow.fn));
      expect(input(permission, "principal")).toBe("apigateway.amazonaws.com");
      expect(input(permission, "sourceArn")).toBe(`${executionArn()}/*`);
    }
    expect(input(flow.stage, "name")).toBe(API_STAGE);
    expect(input(flow.stage, "autoDeploy")).toBe(true);
    expect(input(flow.api, "protocolType")).toBe("HTTP");
  });

  it("the function runs functions/api.handler with the table, bus, config, key, delivery queue and the two functions it invokes", () => {
    const { table, bus, secret, fn: refreshFn } = refreshFlow(run);
    const { fn, role } = apiFlow();
    expect(input(fn, "handler")).toBe("functions/api.handler");
    expect(input(fn, "runtime")).toBe("nodejs22.x");
    expect(input(fn, "memorySize")).toBe(512);
    expect(input(fn, "timeout")).toBe(30);
    expect(input(fn, "tracingConfig")).toEqual({ mode: "Active" });
    expect(env(fn)).toMatchObject({
      PULLKEEPER_TABLE: input(table, "name"),
      PULLKEEPER_BUS: input(bus, "name"),
      PULLKEEPER_CONFIG: "pullkeeper.json",
      PULLKEEPER_FINGERPRINT_KEY_SECRET: arnOf(secret),
      PULLKEEPER_DELIVERY_QUEUE_URL: queueUrl(propagationFlow(run).deliveries),
      PULLKEEPER_REFRESH_FUNCTION: input(refreshFn, "name"),
      PULLKEEPER_AUDIT_SCAN_FUNCTION: input(auditFlow().fn, "name"),
      POWERTOOLS_SERVICE_NAME: "pullkeeper",
      POWERTOOLS_METRICS_NAMESPACE: "Pullkeeper",
    });
    expect(trustedPrincipals(role)).toEqual({ Service: ["lambda.amazonaws.com"] });
    expect(run.builds.find((b) => b.functionID === "Api")).toMatchObject({ handler: "functions/api.handler", links: {}, copyFiles: [shippedConfigOf(run, FIXTURE).copyFile] });
    // Invoked by API Gateway only, synchronously.
    expect(run.ofType("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").map((r) => r.name)).not.toContain("ApiEventInvokeConfig");
  });

  it("the function has exactly the IAM statements apiPermissions derives: reconcile's planning, invoke on exactly refresh and audit-scan, restart for opted-in consumers only", () => {
    const { table, bus, secret, fn: refreshFn } = refreshFlow(run);
    const { role } = apiFlow();
    const statements = inlineStatements(role);
    expect(statements).toEqual(
      apiPermissions(config, {
        ...here,
        tableArn: arnOf(table),
        busArn: arnOf(bus),
        fingerprintKeySecretArn: arnOf(secret),
        deliveryQueueArn: arnOf(propagationFlow(run).deliveries),
        refreshFunctionArn: arnOf(refreshFn),
        auditScanFunctionArn: arnOf(auditFlow().fn),
      }),
    );
    expectLeastPrivilege(statements);
    const byAction = (action: string) => statements.filter((s) => s.actions.includes(action));
    expect(byAction("lambda:InvokeFunction")).toEqual([{ actions: ["lambda:InvokeFunction"], resources: [arnOf(refreshFn), arnOf(auditFlow().fn)] }]);
    // quay-web opted in (clusters prod and batch); quay-api (cluster api) did not.
    expect(byAction("ecs:UpdateService").flatMap((s) => s.resources)).toEqual(["arn:aws:ecs:eu-west-1:123456789012:service/prod/*", "arn:aws:ecs:eu-west-1:123456789012:service/batch/*"]);
    expect(byAction("ecs:DescribeTasks")[0]?.conditions).toEqual([
      { test: "ArnEquals", variable: "ecs:cluster", values: ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "arn:aws:ecs:eu-west-1:123456789012:cluster/batch"] },
    ]);
    // ghcr-codespaces opted in; hub-gitpod did not; the webhook and CodeBuild consumers cannot restart.
    const tokens = byAction("secretsmanager:GetSecretValue").flatMap((s) => s.resources);
    expect(tokens).toContain("arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/github-token-??????");
    expect(JSON.stringify(statements)).not.toMatch(/gitpod-token|webhook-key|codebuild:/);
  });

  it("the reader role may invoke the GET routes and not POST; the operator both", () => {
    const { reader, operator } = apiFlow();
    const invoke = (role: DeclaredResource) => inlineStatements(role);
    expect(invoke(reader)).toEqual([{ actions: ["execute-api:Invoke"], resources: [`${executionArn()}/$default/GET/*`] }]);
    expect(invoke(operator)).toEqual([{ actions: ["execute-api:Invoke"], resources: [`${executionArn()}/$default/GET/*`, `${executionArn()}/$default/POST/*`] }]);
    for (const route of API_ROUTES) {
      const request = requestArn(executionArn(), API_STAGE, route);
      expect(allowsInvoke(invoke(operator), request), `operator ${route}`).toBe(true);
      expect(allowsInvoke(invoke(reader), request), `reader ${route}`).toBe((READ_ROUTES as readonly string[]).includes(route));
    }
    expect(allowsInvoke(invoke(reader), `${executionArn()}/$default/POST/v1/environments/scan`)).toBe(false);
    for (const role of [reader, operator]) expectLeastPrivilege(invoke(role));
  });

  it("who may assume the roles: settings.api.readers for the reader (each once); the deploy account's root for the operator (left out)", () => {
    const { reader, operator } = apiFlow();
    expect(trustedPrincipals(reader)).toEqual({ AWS: READERS });
    expect(trustedPrincipals(operator)).toEqual({ AWS: [`arn:aws:iam::${FAKE_ACCOUNT}:root`] });
    expect(input(reader, "maxSessionDuration")).toBe(3600);
  });
});

describe("outputs", () => {
  it("the API's URL, its roles, the audit-scan function, its failure queue and the alarms' names", () => {
    const flow = auditFlow();
    const { reader, operator, fn } = apiFlow();
    expect(run.outputs).toMatchObject({
      apiUrl: `https://AuditApiApi-id.execute-api.${FAKE_REGION}.amazonaws.com`,
      apiFunction: input(fn, "name"),
      auditReaderRole: arnOf(reader),
      auditOperatorRole: arnOf(operator),
      auditScanFunction: input(flow.fn, "name"),
      auditFailuresQueue: queueUrl(flow.failures),
      expiredEnvironmentsAlarm: "pullkeeper-test-expired-environments",
      earliestExpiryAlarm: "pullkeeper-test-earliest-expiry",
      discoveryFailuresAlarm: "pullkeeper-test-discovery-failures",
      auditFailuresAlarm: "pullkeeper-test-audit-failures",
    });
  });
});
