import { describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { auditAlarmPeriodSeconds, CRON_ALARM_PERIOD_SECONDS, DISCOVERY_FAILURE_PERIODS, EARLIEST_EXPIRY_ALARM_MINUTES } from "../../stacks/audit-config.js";
import {
  type ApiPermissionContext,
  apiPermissions,
  type AuditScanPermissionContext,
  auditScanPermissions,
  type ConditionalPermissionStatement,
  restartPermissions,
} from "../../stacks/audit-permissions.js";
import { deliveryPlanningPermissions, propagationPermissions } from "../../stacks/propagation-permissions.js";
import { expectLeastPrivilege } from "./iam-invariants";

const where = { partition: "aws", region: "eu-west-1", account: "123456789012" };
const tableArn = "arn:aws:dynamodb:eu-west-1:123456789012:table/pullkeeper-prod-LedgerTable-abcdefgh";
const busArn = "arn:aws:events:eu-west-1:123456789012:event-bus/pullkeeper-prod-EventsBus-abcdefgh";
const scanCtx: AuditScanPermissionContext = { ...where, tableArn, busArn, failuresQueueArn: "arn:aws:sqs:eu-west-1:123456789012:pullkeeper-prod-AuditFailuresQueue-abcdefgh" };
const apiCtx: ApiPermissionContext = {
  ...where,
  tableArn,
  busArn,
  fingerprintKeySecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod/fingerprint-key-Zx9Yw8",
  deliveryQueueArn: "arn:aws:sqs:eu-west-1:123456789012:pullkeeper-prod-DeliveriesQueue-abcdefgh",
  refreshFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:pullkeeper-prod-RefreshFunction-abcdefgh",
  auditScanFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:pullkeeper-prod-AuditScanFunction-abcdefgh",
};

// What every audit-scan gets.
const ledger = {
  actions: ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
  resources: [tableArn, `${tableArn}/index/*`],
};
const publish = { actions: ["events:PutEvents"], resources: [busArn] };
const search = [
  { actions: ["codebuild:ListProjects", "ecs:ListTaskDefinitionFamilies", "ecs:DescribeTaskDefinition"], resources: ["*"] },
  { actions: ["codebuild:BatchGetProjects"], resources: ["arn:aws:codebuild:*:123456789012:project/*"] },
];
const onFailure = { actions: ["sqs:SendMessage"], resources: [scanCtx.failuresQueueArn] };
const tracing = { actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] };
const apiLedger = { actions: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"], resources: [tableArn, `${tableArn}/index/*`] };
const invoke = { actions: ["lambda:InvokeFunction"], resources: [apiCtx.refreshFunctionArn, apiCtx.auditScanFunctionArn] };

const registries = `
registries:
  - id: hub
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: managed-secret }
    secret: pullkeeper/dockerhub
  - id: ghcr
    host: ghcr.io
    kind: ghcr
    source: { type: managed-secret }
    secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/ghcr-Gh7Ab2"
`;
const configWith = (consumers: string) => parseConfig(`${registries}consumers:\n${consumers}`, "pullkeeper.yaml");
const byAction = (statements: readonly ConditionalPermissionStatement[], action: string) => statements.filter((s) => s.actions.includes(action));

const ECS_WEB = `
  - id: web
    registry: hub
    restart: true
    target:
      kind: ecs-task-definition
      family: web
      rollServices:
        - { cluster: prod, service: web }
        - { cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/batch", service: worker }
`;
const ECS_API = `
  - id: api
    registry: ghcr
    target: { kind: ecs-task-definition, family: api, region: us-west-2, rollServices: [{ cluster: api, service: api }] }
`;
const CODESPACES = `
  - id: codespaces
    registry: ghcr
    restart: true
    target: { kind: codespaces-secret, scope: repository, repository: acme/app, prefix: ACME, tokenSecret: pullkeeper/github-token }
`;
const GITPOD = `
  - id: gitpod
    registry: hub
    target: { kind: gitpod-secret, name: hub, scope: { organizationId: org-1 }, tokenSecret: pullkeeper/gitpod-token }
`;
const WEBHOOK = `
  - id: hook
    registry: hub
    restart: true
    target: { kind: webhook, url: "https://hooks.example.com/x", signingSecret: pullkeeper/webhook-key }
`;
const CODEBUILD = `
  - id: builds
    registry: hub
    restart: true
    target: { kind: codebuild-project, project: build-images }
`;

describe("auditScanPermissions", () => {
  it("without consumers: the ledger and its index, the bus, the undeclared-consumer search, the failure queue, tracing; no consumer API, no secret", () => {
    const p = auditScanPermissions(configWith("  []"), scanCtx);
    expect(p).toEqual([ledger, publish, ...search, onFailure, tracing]);
    expectLeastPrivilege(p);
  });

  it("CodeBuild consumers: list and read the builds of exactly their projects", () => {
    const p = auditScanPermissions(configWith(CODEBUILD + "  - { id: release, registry: ghcr, target: { kind: codebuild-project, project: release } }\n"), scanCtx);
    expect(byAction(p, "codebuild:ListBuildsForProject")).toEqual([
      {
        actions: ["codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds"],
        // By name: in the region of the registry's secret ARN, else the deploy region.
        resources: ["arn:aws:codebuild:eu-west-1:123456789012:project/build-images", "arn:aws:codebuild:us-east-1:123456789012:project/release"],
      },
    ]);
    expect(byAction(p, "ecs:ListTasks")).toEqual([]);
    expectLeastPrivilege(p);
  });

  it("ECS consumers: list clusters; list and describe tasks only on clusters of the deploy account in the consumers' regions", () => {
    const p = auditScanPermissions(configWith(ECS_WEB + ECS_API), scanCtx);
    expect(byAction(p, "ecs:ListClusters")).toEqual([{ actions: ["ecs:ListClusters"], resources: ["*"] }]);
    expect(byAction(p, "ecs:ListTasks")).toEqual([
      {
        actions: ["ecs:ListTasks", "ecs:DescribeTasks"],
        resources: ["*"],
        conditions: [{ test: "ArnLike", variable: "ecs:cluster", values: ["arn:aws:ecs:eu-west-1:123456789012:cluster/*", "arn:aws:ecs:us-west-2:123456789012:cluster/*"] }],
      },
    ]);
    // Discovery never changes a service; that is the API's restart.
    expect(byAction(p, "ecs:UpdateService")).toEqual([]);
    expectLeastPrivilege(p);
  });

  it("reads the tokens of the targets outside AWS whose environments it lists (as deliver derives them); not a webhook's signing key", () => {
    const config = configWith(CODESPACES + GITPOD + WEBHOOK);
    const p = auditScanPermissions(config, scanCtx);
    const reads = byAction(p, "secretsmanager:GetSecretValue");
    expect(reads).toEqual([
      {
        actions: ["secretsmanager:GetSecretValue"],
        resources: [
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/github-token-??????",
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/gitpod-token-??????",
        ],
      },
    ]);
    // The same derivation as deliver's, which also reads the webhook's key to sign with it.
    const config2 = configWith(CODESPACES + GITPOD);
    const deliver = propagationPermissions(config2, { ...apiCtx, failuresQueueArn: scanCtx.failuresQueueArn }).deliver;
    expect(byAction(deliver, "secretsmanager:GetSecretValue").find((s) => s.actions.length === 1)).toEqual(reads[0]);
    expect(JSON.stringify(p)).not.toContain("webhook-key");
    // Never a registry secret: judging an environment compares versions, not values.
    expect(JSON.stringify(p)).not.toContain("pullkeeper/dockerhub");
    expect(JSON.stringify(p)).not.toContain("pullkeeper/ghcr");
    expectLeastPrivilege(p);
  });

  it("builds ARNs in the deploy partition and account", () => {
    const p = auditScanPermissions(configWith(ECS_WEB), { ...scanCtx, partition: "aws-us-gov", region: "us-gov-west-1", account: "111122223333" });
    expect(byAction(p, "codebuild:BatchGetProjects")[0]?.resources).toEqual(["arn:aws-us-gov:codebuild:*:111122223333:project/*"]);
    expect(byAction(p, "ecs:ListTasks")[0]?.conditions?.[0]?.values).toEqual(["arn:aws-us-gov:ecs:us-gov-west-1:111122223333:cluster/*"]);
  });
});

describe("restartPermissions", () => {
  it("none when no consumer opts in (restart absent or false)", () => {
    const config = configWith(ECS_API + GITPOD);
    expect(restartPermissions(config, where)).toEqual([]);
    const optedOut = configWith(CODESPACES.replace("restart: true", "restart: false"));
    expect(restartPermissions(optedOut, where)).toEqual([]);
  });

  it("none for kinds that cannot restart, even when they opt in (CodeBuild builds, webhooks)", () => {
    expect(restartPermissions(configWith(CODEBUILD + WEBHOOK), where)).toEqual([]);
  });

  it("ECS: describe tasks and roll services only in the clusters the opted-in consumer names", () => {
    const p = restartPermissions(configWith(ECS_WEB + ECS_API), where);
    expect(p).toEqual([
      {
        actions: ["ecs:DescribeTasks"],
        resources: ["*"],
        conditions: [{ test: "ArnEquals", variable: "ecs:cluster", values: ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "arn:aws:ecs:us-east-1:123456789012:cluster/batch"] }],
      },
      { actions: ["ecs:UpdateService"], resources: ["arn:aws:ecs:eu-west-1:123456789012:service/prod/*", "arn:aws:ecs:us-east-1:123456789012:service/batch/*"] },
    ]);
    // quay-api's cluster (not opted in) is not there.
    expect(JSON.stringify(p)).not.toContain("/api");
    expectLeastPrivilege(p);
  });

  it("Codespaces (and Gitpod) when opted in: read their token only", () => {
    expect(restartPermissions(configWith(CODESPACES + GITPOD), where)).toEqual([
      { actions: ["secretsmanager:GetSecretValue"], resources: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/github-token-??????"] },
    ]);
    expect(restartPermissions(configWith(GITPOD.replace("registry: hub", "registry: hub\n    restart: true")), where)).toEqual([
      { actions: ["secretsmanager:GetSecretValue"], resources: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/gitpod-token-??????"] },
    ]);
  });

  it("an ECS consumer that opts in without rollServices fails with its path: no cluster to scope the restart to", () => {
    const config = configWith("  - { id: web, registry: hub, restart: true, target: { kind: ecs-task-definition, family: web } }\n");
    expect(() => restartPermissions(config, where)).toThrow(/^consumers\[0\]\.restart: consumer "web" \(ecs-task-definition\) restarts through its ECS services: list them in target\.rollServices/);
  });
});

describe("apiPermissions", () => {
  it("reads the ledger and its index, plans deliveries exactly as reconcile does, invokes exactly refresh and audit-scan; no restart without opt-in", () => {
    const config = configWith(ECS_API + GITPOD);
    const p = apiPermissions(config, apiCtx);
    const planning = deliveryPlanningPermissions(config, apiCtx);
    expect(p).toEqual([apiLedger, ...planning, invoke, tracing]);
    // Reconcile's statements are the planning ones plus its failure queue and tracing.
    const reconcile = propagationPermissions(config, { ...apiCtx, failuresQueueArn: scanCtx.failuresQueueArn }).reconcile;
    expect(reconcile).toEqual([...planning, { actions: ["sqs:SendMessage"], resources: [scanCtx.failuresQueueArn] }, tracing]);
    expect(byAction(p, "ecs:UpdateService")).toEqual([]);
    expect(byAction(p, "lambda:InvokeFunction")).toEqual([invoke]);
    expectLeastPrivilege(p);
  });

  it("adds the restart statements of the opted-in consumers", () => {
    const config = configWith(ECS_WEB + CODESPACES);
    const p = apiPermissions(config, apiCtx);
    expect(p).toEqual([apiLedger, ...deliveryPlanningPermissions(config, apiCtx), invoke, ...restartPermissions(config, apiCtx), tracing]);
    expect(byAction(p, "ecs:UpdateService")).toHaveLength(1);
    expectLeastPrivilege(p);
  });
});

describe("alarm settings", () => {
  it("one scan per period: the rate's interval, an hour for cron, at least a minute, at most a third of a day", () => {
    expect(auditAlarmPeriodSeconds("rate(15 minutes)")).toBe(900);
    expect(auditAlarmPeriodSeconds("rate(1 minute)")).toBe(60);
    expect(auditAlarmPeriodSeconds("rate(2 hours)")).toBe(7200);
    expect(auditAlarmPeriodSeconds("rate(1 day)")).toBe(86_400 / DISCOVERY_FAILURE_PERIODS);
    expect(auditAlarmPeriodSeconds("cron(0/10 * * * ? *)")).toBe(CRON_ALARM_PERIOD_SECONDS);
    expect(EARLIEST_EXPIRY_ALARM_MINUTES).toBe(120);
  });
});
