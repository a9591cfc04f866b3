import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { schedulerInput } from "../../packages/core/src/config/schedule-input.js";
import { SECRET_CHANGE_PATTERNS } from "../../packages/core/src/propagation/secret-change.js";
import { secretArn } from "../../stacks/config.js";
import {
  DEAD_LETTER_RETENTION_SECONDS,
  DELIVERY_AGE_ALARM_SECONDS,
  DELIVERY_BATCH_SIZE,
  DELIVERY_MAX_CONCURRENCY,
  DELIVERY_MAX_RECEIVES,
  secretChangePattern,
  secretChangeRules,
} from "../../stacks/propagation-config.js";
import { propagationPermissions } from "../../stacks/propagation-permissions.js";
import { arnOf, expectScheduledInvocation, inlineStatements, input, propagationFlow, refreshFlow, trustedPrincipals } from "./declared";
import { matchesPattern } from "./event-pattern";
import { expectLeastPrivilege } from "./iam-invariants";
import { ensureSstPlatform, FAKE_ACCOUNT, FAKE_PARTITION, FAKE_REGION, physicalName, policyStatements, readZip, REPO_ROOT, runSstApp, SstRunError, type SstRun } from "./sst-harness";
import { shippedConfigOf } from "./shipped-config.js";

/**
 * The real sst.config.ts → stacks/ under Pulumi mocks (test/infra/sst-harness.ts), stage "test",
 * with PULLKEEPER_CONFIG pointing at a fixture with CodeBuild and ECS consumers; and with a
 * fixture whose consumer targets are invalid.
 */
const FIXTURE = "test/infra/fixtures/pullkeeper.propagation.yaml";
const INVALID = "test/infra/fixtures/pullkeeper.invalid-consumer.yaml";
const SAMPLES = path.join(REPO_ROOT, "test", "fixtures", "secretsmanager");

const config = parseConfig(readFileSync(path.join(REPO_ROOT, FIXTURE), "utf8"), FIXTURE);
const here = { partition: FAKE_PARTITION, region: FAKE_REGION, account: FAKE_ACCOUNT };

let invalid: unknown;
let run: SstRun;
let flow: ReturnType<typeof propagationFlow>;

beforeAll(async () => {
  ensureSstPlatform();
  invalid = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: INVALID } }).then(
    () => undefined,
    (error: unknown) => error,
  );
  run = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: FIXTURE } });
  flow = propagationFlow(run);
}, 10 * 60_000);

const env = (fn: Parameters<typeof input>[0]) => input<Record<string, string>>(fn, "environment", "variables");
const sample = (file: string) => JSON.parse(readFileSync(path.join(SAMPLES, file), "utf8")) as Record<string, unknown> & { detail: Record<string, unknown> };
const pattern = (rule: Parameters<typeof input>[0]) => JSON.parse(input<string>(rule, "eventPattern")) as Record<string, unknown>;

describe("a pullkeeper.yaml with an invalid consumer target", () => {
  it("fails the deploy with every problem at its line, column and path, as the delivery targets' schemas say", () => {
    expect(invalid).toBeInstanceOf(SstRunError);
    const message = (invalid as SstRunError).message;
    expect(message).toMatch(new RegExp(`^${INVALID.replaceAll(".", "\\.")} is not valid:`));
    expect(message).toContain(`\n  ${INVALID}:11:13 consumers[0].target.project: missing key "project"`);
    expect(message).toContain(`\n  ${INVALID}:14:50 consumers[1].target.family: expected a task-definition family name`);
  });

  it("declares nothing", () => {
    expect((invalid as SstRunError).declared.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});

describe("the three propagation functions", () => {
  const functions = () => [
    { name: "OnSecretChange", handler: "functions/on-secret-change.handler", timeout: 300, it: flow.onSecretChange },
    { name: "Reconcile", handler: "functions/reconcile.handler", timeout: 300, it: flow.reconcile },
    { name: "Deliver", handler: "functions/deliver.handler", timeout: 120, it: flow.deliver },
  ];

  it("run their handler on Node 22, arm64, 512 MB, traced, each with its own role", () => {
    for (const { name, handler, timeout, it: f } of functions()) {
      expect(input(f.fn, "handler"), name).toBe(handler);
      expect(input(f.fn, "runtime"), name).toBe("nodejs22.x");
      expect(input(f.fn, "architectures"), name).toEqual(["arm64"]);
      expect(input(f.fn, "memorySize"), name).toBe(512);
      expect(input(f.fn, "timeout"), name).toBe(timeout);
      expect(input(f.fn, "tracingConfig"), name).toEqual({ mode: "Active" });
      expect(input(f.fn, "role"), name).toBe(arnOf(f.role));
    }
    expect(input(flow.reconcile.fn, "reservedConcurrentExecutions")).toBe(1);
    expect(input(flow.onSecretChange.fn, "reservedConcurrentExecutions")).toBeUndefined();
  });

  it("are built from their handlers with the validated config's document copied in as pullkeeper.json", () => {
    for (const { name, handler } of functions()) {
      const build = run.builds.find((b) => b.functionID === name);
      expect(build, name).toMatchObject({ handler, runtime: "nodejs22.x", links: {}, copyFiles: [shippedConfigOf(run, FIXTURE).copyFile] });
      const zip = readZip(path.join(run.workDir, "artifacts", name, "code.zip"));
      expect(zip.get("pullkeeper.json")?.toString("utf8"), name).toBe(shippedConfigOf(run, FIXTURE).json);
    }
  });

  it("get the table, bus, config, key and delivery queue; deliver also the queue's maxReceiveCount", () => {
    const { table, bus, secret } = refreshFlow(run);
    const deliveryQueueUrl = `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${input<string>(flow.deliveries, "name")}`;
    for (const { name, it: f } of functions()) {
      expect(env(f.fn), name).toMatchObject({
        PULLKEEPER_TABLE: input(table, "name"),
        PULLKEEPER_BUS: input(bus, "name"),
        PULLKEEPER_CONFIG: "pullkeeper.json",
        PULLKEEPER_FINGERPRINT_KEY_SECRET: arnOf(secret),
        PULLKEEPER_DELIVERY_QUEUE_URL: deliveryQueueUrl,
        POWERTOOLS_SERVICE_NAME: "pullkeeper",
        POWERTOOLS_METRICS_NAMESPACE: "Pullkeeper",
      });
    }
    const redrive = JSON.parse(input<string>(flow.deliveries, "redrivePolicy")) as { maxReceiveCount: number; deadLetterTargetArn: string };
    // The redrive only catches a handler that crashed: retries of a current version are re-queued by the engine itself.
    expect(redrive.maxReceiveCount).toBe(DELIVERY_MAX_RECEIVES);
    for (const fn of [flow.deliver.fn, flow.onSecretChange.fn, flow.reconcile.fn]) expect(env(fn).PULLKEEPER_MAX_RECEIVES).toBeUndefined();
  });

  it("each have exactly the IAM statements propagationPermissions derives from the config", () => {
    const { table, bus, secret } = refreshFlow(run);
    const expected = propagationPermissions(config, {
      ...here,
      tableArn: arnOf(table),
      busArn: arnOf(bus),
      fingerprintKeySecretArn: arnOf(secret),
      deliveryQueueArn: arnOf(flow.deliveries),
      failuresQueueArn: arnOf(flow.failures),
    });
    expect(inlineStatements(flow.onSecretChange.role)).toEqual(expected.onSecretChange);
    expect(inlineStatements(flow.reconcile.role)).toEqual(expected.reconcile);
    expect(inlineStatements(flow.deliver.role)).toEqual(expected.deliver);
    for (const f of [flow.onSecretChange, flow.reconcile, flow.deliver]) {
      expectLeastPrivilege(inlineStatements(f.role));
      expect(input(f.role, "managedPolicyArns")).toEqual(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
      expect(trustedPrincipals(f.role)).toEqual({ Service: ["lambda.amazonaws.com"] });
    }
  });

  it("the fixture's consumers show up in deliver's IAM as the config names them", () => {
    const statements = inlineStatements(flow.deliver.role);
    const byAction = (action: string) => statements.filter((s) => s.actions.includes(action)).flatMap((s) => s.resources);
    expect(byAction("codebuild:BatchGetProjects")).toEqual([
      "arn:aws:codebuild:eu-west-1:123456789012:project/build-images",
      "arn:aws:codebuild:us-east-1:123456789012:project/gitlab-images",
      "arn:aws:codebuild:us-east-2:123456789012:project/release",
      "arn:aws:codebuild:eu-central-1:123456789012:project/tests",
    ]);
    expect(byAction("codebuild:UpdateProject")).toEqual(["arn:aws:codebuild:us-east-2:123456789012:project/release"]);
    expect(byAction("ecs:DescribeTaskDefinition")).toEqual(["*"]);
    expect(byAction("ecs:UpdateService")).toEqual(["arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "arn:aws:ecs:eu-west-1:123456789012:service/batch/worker"]);
    expect(byAction("iam:SimulatePrincipalPolicy")).toEqual(["arn:aws:iam::123456789012:role/*"]);
    const tracked = ["pullkeeper/ghcr", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub-Dh4Ub7", "pullkeeper/quay", "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/gitlab-Gl7Ab2"].map((s) =>
      secretArn(s, here),
    );
    expect(byAction("secretsmanager:DescribeSecret")).toEqual(tracked);
    // prod-ecr has no consumer: no propagation function may read it.
    for (const f of [flow.onSecretChange, flow.reconcile, flow.deliver]) expect(JSON.stringify(inlineStatements(f.role))).not.toContain("prod-ecr");
  });

  it("send failed asynchronous invocations of the planners to the failure queue; deliver is not invoked asynchronously", () => {
    expect(input(flow.onSecretChange.invokeConfig, "maximumRetryAttempts")).toBe(2);
    expect(input(flow.reconcile.invokeConfig, "maximumRetryAttempts")).toBe(1);
    for (const f of [flow.onSecretChange, flow.reconcile]) {
      expect(input(f.invokeConfig, "functionName")).toBe(input(f.fn, "name"));
      expect(input(f.invokeConfig, "maximumEventAgeInSeconds")).toBe(900);
      expect(input(f.invokeConfig, "destinationConfig")).toEqual({ onFailure: { destination: arnOf(flow.failures) } });
    }
    expect(run.ofType("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").map((r) => r.name)).not.toContain("DeliverEventInvokeConfig");
  });
});

describe("the delivery queue", () => {
  it("is encrypted, with a visibility timeout six times deliver's timeout and a redrive policy to the dead-letter queue", () => {
    expect(input(flow.deliveries, "sqsManagedSseEnabled")).toBe(true);
    expect(input(flow.deliveries, "visibilityTimeoutSeconds")).toBe(6 * input<number>(flow.deliver.fn, "timeout"));
    expect(JSON.parse(input<string>(flow.deliveries, "redrivePolicy"))).toEqual({ deadLetterTargetArn: arnOf(flow.deadLetters), maxReceiveCount: DELIVERY_MAX_RECEIVES });
    expect(input(flow.deadLetters, "sqsManagedSseEnabled")).toBe(true);
    expect(input(flow.deadLetters, "messageRetentionSeconds")).toBe(DEAD_LETTER_RETENTION_SECONDS);
    expect(DEAD_LETTER_RETENTION_SECONDS).toBe(14 * 24 * 3600);
    // A dead letter outlives the message it was (SQS keeps the original enqueue time).
    expect(input<number | undefined>(flow.deliveries, "messageRetentionSeconds") ?? 4 * 24 * 3600).toBeLessThan(DEAD_LETTER_RETENTION_SECONDS);
    expect(input(flow.failures, "sqsManagedSseEnabled")).toBe(true);
  });

  it("feeds deliver ten messages at a time, with partial batch responses, on at most ten concurrent workers", () => {
    const { subscription } = flow;
    expect(input(subscription, "eventSourceArn")).toBe(arnOf(flow.deliveries));
    expect(input(subscription, "functionName")).toBe(arnOf(flow.deliver.fn));
    expect(input(subscription, "batchSize")).toBe(DELIVERY_BATCH_SIZE);
    expect(DELIVERY_BATCH_SIZE).toBe(10);
    expect(input(subscription, "maximumBatchingWindowInSeconds")).toBe(0);
    expect(input(subscription, "functionResponseTypes")).toEqual(["ReportBatchItemFailures"]);
    expect(input(subscription, "scalingConfig")).toEqual({ maximumConcurrency: DELIVERY_MAX_CONCURRENCY });
    expect(run.ofType("aws:lambda/eventSourceMapping:EventSourceMapping")).toHaveLength(1);
  });
});

describe("the triggers", () => {
  it("one rule per kind of Secrets Manager change on the default bus, and Credential Rotated on pullkeeper's bus, all invoking on-secret-change", () => {
    expect(flow.secretRules.map((r) => r.name)).toEqual(["SecretApiCallsRule", "SecretRotationSucceededRule", "SecretLabelUpdatedRule"]);
    for (const rule of flow.secretRules) expect(input(rule, "eventBusName"), rule.name).toBeUndefined();
    expect(input(flow.credentialRotated.rule, "eventBusName")).toBe(input(refreshFlow(run).bus, "name"));
    expect(pattern(flow.credentialRotated.rule)).toEqual(SECRET_CHANGE_PATTERNS.credentialRotated);
    for (const name of ["SecretApiCalls", "SecretRotationSucceeded", "SecretLabelUpdated", "CredentialRotated"]) {
      const rule = run.get("aws:cloudwatch/eventRule:EventRule", `${name}Rule`);
      const target = run.get("aws:cloudwatch/eventTarget:EventTarget", `${name}Target`);
      const permission = run.get("aws:lambda/permission:Permission", `${name}Permission`);
      expect(input(target, "rule"), name).toBe(physicalName(rule));
      expect(input(target, "eventBusName"), name).toBe(input(rule, "eventBusName"));
      expect(input(target, "arn"), name).toBe(arnOf(flow.onSecretChange.fn));
      expect(input(target, "input"), name).toBeUndefined();
      expect(input(target, "retryPolicy"), name).toEqual({ maximumRetryAttempts: 2, maximumEventAgeInSeconds: 900 });
      expect(input(target, "deadLetterConfig"), name).toEqual({ arn: arnOf(flow.failures) });
      expect(input(permission, "function"), name).toBe(arnOf(flow.onSecretChange.fn));
      expect(input(permission, "principal"), name).toBe("events.amazonaws.com");
      expect(input(permission, "sourceArn"), name).toBe(arnOf(rule));
    }
  });

  it("use the shared SECRET_CHANGE_PATTERNS narrowed to the tracked secrets", () => {
    const rules = secretChangeRules(config);
    expect(flow.secretRules.map((r) => pattern(r))).toEqual(rules.map((r) => JSON.parse(JSON.stringify(secretChangePattern(r, here)))));
    const [api, rotation, label] = flow.secretRules.map((r) => pattern(r) as { detail: Record<string, unknown>; resources?: unknown });
    expect(api).toMatchObject({ ...SECRET_CHANGE_PATTERNS.apiCalls, detail: { ...SECRET_CHANGE_PATTERNS.apiCalls.detail } });
    expect(api?.detail.requestParameters).toEqual({
      secretId: [
        "pullkeeper/ghcr",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr",
        { prefix: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-" },
        "pullkeeper/dockerhub",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub-Dh4Ub7",
        "pullkeeper/quay",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/quay",
        { prefix: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/quay-" },
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/gitlab",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/gitlab-Gl7Ab2",
      ],
    });
    const fullArns = [
      { prefix: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-" },
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub-Dh4Ub7",
      { prefix: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/quay-" },
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/gitlab-Gl7Ab2",
    ];
    expect(rotation).toEqual({ ...SECRET_CHANGE_PATTERNS.rotationSucceeded, detail: { eventName: ["RotationSucceeded"], additionalEventData: { SecretId: fullArns } } });
    expect(label).toEqual({ ...SECRET_CHANGE_PATTERNS.labelUpdated, resources: fullArns });
    expect(input<string>(flow.secretRules[0]!, "eventPattern").length).toBeLessThanOrEqual(2048);
  });

  it("the sample events of tracked secrets match a rule; failed calls, other labels, other secrets and other events do not", () => {
    const deployed = [...flow.secretRules, flow.credentialRotated.rule].map((r) => ({ name: r.name, pattern: pattern(r) }));
    const matching = (event: unknown) => deployed.filter((r) => matchesPattern(r.pattern, event)).map((r) => r.name);
    const ghcrArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-Xy12Ab";
    const withSecretId = (file: string, secretId: string) => {
      const event = sample(file);
      return { ...event, detail: { ...event.detail, requestParameters: { ...(event.detail.requestParameters as object), secretId } } };
    };

    // Samples that name a tracked secret, as captured.
    expect(matching(sample("rotatesecret.pullkeeper-written.json"))).toEqual(["SecretApiCallsRule"]); // pullkeeper/ghcr by name
    expect(matching(sample("updatesecretversionstage.awscurrent.pullkeeper-written.json"))).toEqual(["SecretApiCallsRule"]); // ghcr by full ARN
    expect(matching(sample("updatesecret.name-only.pullkeeper-written.json"))).toEqual(["SecretApiCallsRule"]); // dockerhub (an ARN in the config) by name
    expect(matching(sample("restoresecret.legacy-aRN.pullkeeper-written.json"))).toEqual(["SecretApiCallsRule"]); // quay by name
    expect(matching(sample("credential-rotated.pullkeeper-written.json"))).toEqual(["CredentialRotatedRule"]);
    // Real AWS samples, pointed at a tracked secret (their own secrets are not in the fixture).
    const rotation = sample("rotationsucceeded.aws-blog-2021-08-13.verbatim.json");
    expect(matching({ ...rotation, detail: { ...rotation.detail, additionalEventData: { SecretId: ghcrArn } } })).toEqual(["SecretRotationSucceededRule"]);
    const label = sample("secret-label-updated.awsdocs-2024-02-06.verbatim.json");
    expect(matching({ ...label, resources: [ghcrArn] })).toEqual(["SecretLabelUpdatedRule"]);
    const put = sample("putsecretvalue.console.postmangovsg-2022-01-04.verbatim.json");
    expect(matching(withSecretId("putsecretvalue.console.postmangovsg-2022-01-04.verbatim.json", "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/gitlab-Gl7Ab2"))).toEqual([
      "SecretApiCallsRule",
    ]);
    expect(matching(withSecretId("updatesecret.name-only.pullkeeper-written.json", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub"))).toEqual(["SecretApiCallsRule"]); // partial ARN

    // Nothing else.
    for (const event of [
      rotation, // its own (untracked) secret
      label,
      put,
      sample("putsecretvalue.esi-reloader-docs-2024-10-23.verbatim.json"),
      sample("putsecretvalue.arn.errorcode.pullkeeper-written.json"), // dockerhub, but the call failed
      sample("deletesecret.pullkeeper-written.json"), // quay, but DeleteSecret
      sample("secret-label-updated.awsprevious.pullkeeper-written.json"), // ghcr, but AWSPREVIOUS
      sample("rotationfailed.umccr-2021-09-01.verbatim.json"),
      sample("delivery-failed.pullkeeper-written.json"),
      sample("environment-stale.pullkeeper-written.json"),
      withSecretId("rotatesecret.pullkeeper-written.json", "pullkeeper/prod-ecr"), // a registry without consumers
      withSecretId("rotatesecret.pullkeeper-written.json", "pullkeeper/gitlab"), // a name here is not the us-east-1 secret
    ]) {
      expect(matching(event), JSON.stringify(event).slice(0, 200)).toEqual([]);
    }
  });

  it("reconcile runs on settings.reconcileSchedule in settings.timezone (EventBridge Scheduler), its role invoking only reconcile, with an input its handler accepts", async () => {
    expect(config.settings.reconcileSchedule).toBe("rate(30 minutes)");
    expectScheduledInvocation(run, flow.schedule, {
      fn: flow.reconcile.fn,
      deadLetters: flow.failures,
      expression: config.settings.reconcileSchedule,
      timezone: config.settings.timezone,
      input: schedulerInput("reconcile"),
      maxEventAgeSeconds: 900,
      account: FAKE_ACCOUNT,
    });
    // What EventBridge Scheduler sends, checked against the schema functions/reconcile.ts validates with.
    const { ReconcileEventSchema } = await import("../../functions/reconcile.js");
    const sent = input<string>(flow.schedule.schedule, "target", "input")
      .replace("<aws.scheduler.schedule-arn>", arnOf(flow.schedule.schedule))
      .replace("<aws.scheduler.scheduled-time>", "2026-11-23T03:00:00Z")
      .replace("<aws.scheduler.execution-id>", "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa");
    expect(ReconcileEventSchema.safeParse(JSON.parse(sent)).success).toBe(true);
    expect(ReconcileEventSchema.safeParse({}).success).toBe(false);
  });

  it("the failure queue admits EventBridge for exactly these rules", () => {
    expect(policyStatements(input(flow.failuresPolicy, "policy"))).toEqual([
      {
        Effect: "Allow",
        Action: ["sqs:SendMessage"],
        Resource: [arnOf(flow.failures)],
        Principal: { Service: ["events.amazonaws.com"] },
        Condition: {
          // Not the reconcile schedule: EventBridge Scheduler sends its dead letters with the schedule's role.
          ArnEquals: { "aws:SourceArn": [...flow.secretRules, flow.credentialRotated.rule].map((r) => arnOf(r)) },
        },
      },
    ]);
  });
});

describe("alarms", () => {
  it("on any dead letter, on a delivery older than 15 minutes, and on a lost trigger", () => {
    const { deadLetters, deliveryAge, failures } = flow.alarms;
    const common = { namespace: "AWS/SQS", statistic: "Maximum", evaluationPeriods: 1, comparisonOperator: "GreaterThanThreshold", treatMissingData: "notBreaching" };
    expect(deadLetters.inputs).toMatchObject({
      ...common,
      name: "pullkeeper-test-delivery-dead-letters",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: input(flow.deadLetters, "name") },
      threshold: 0,
    });
    expect(deliveryAge.inputs).toMatchObject({
      ...common,
      name: "pullkeeper-test-delivery-age",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: input(flow.deliveries, "name") },
      threshold: DELIVERY_AGE_ALARM_SECONDS,
    });
    expect(DELIVERY_AGE_ALARM_SECONDS).toBe(900);
    expect(failures.inputs).toMatchObject({
      ...common,
      name: "pullkeeper-test-propagation-failures",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: input(flow.failures, "name") },
      threshold: 0,
    });
  });

  it("are among the stack outputs, with the functions and queues", () => {
    expect(run.outputs).toMatchObject({
      onSecretChangeFunction: input(flow.onSecretChange.fn, "name"),
      reconcileFunction: input(flow.reconcile.fn, "name"),
      deliverFunction: input(flow.deliver.fn, "name"),
      deliveryQueue: `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${input<string>(flow.deliveries, "name")}`,
      deliveryDeadLetterQueue: `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${input<string>(flow.deadLetters, "name")}`,
      propagationFailuresQueue: `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${input<string>(flow.failures, "name")}`,
      deliveryDeadLettersAlarm: "pullkeeper-test-delivery-dead-letters",
      deliveryAgeAlarm: "pullkeeper-test-delivery-age",
      propagationFailuresAlarm: "pullkeeper-test-propagation-failures",
    });
  });
});
