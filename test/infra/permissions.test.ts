import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { loadDeployConfig, refreshPermissions, type RefreshPermissionContext, scheduleExpression, secretArn } from "../../stacks/config.js";
import { SCHEDULE_RETRY_ATTEMPTS, schedulePermissions, schedulerTrust } from "../../stacks/schedule-permissions.js";
import { expectLeastPrivilege } from "./iam-invariants";

const ctx: RefreshPermissionContext = {
  partition: "aws",
  region: "eu-west-1",
  account: "123456789012",
  tableArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/pullkeeper-prod-LedgerTable-abcdefgh",
  busArn: "arn:aws:events:eu-west-1:123456789012:event-bus/pullkeeper-prod-EventsBus-abcdefgh",
  fingerprintKeySecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod/fingerprint-key-Zx9Yw8",
};

const SECRET_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"];
const fingerprintStatement = { actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"], resources: [ctx.fingerprintKeySecretArn] };
const ledgerStatement = { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"], resources: [ctx.tableArn, `${ctx.tableArn}/index/*`] };
const busStatement = { actions: ["events:PutEvents"], resources: [ctx.busArn] };

const ownAccountEcr = `
  - id: prod-ecr
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "123456789012", region: eu-west-1 }
    secret: pullkeeper/prod-ecr`;
const crossAccountEcr = `
  - id: shared-ecr
    host: 210987654321.dkr.ecr.us-east-2.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "210987654321", region: us-east-2, roleArn: "arn:aws:iam::210987654321:role/pullkeeper-pull", externalId: ext-42 }
    secret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/shared-ecr-AbC123"`;
const secondRegionSameRole = `
  - id: shared-ecr-west
    host: 210987654321.dkr.ecr.us-west-2.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "210987654321", region: us-west-2, roleArn: "arn:aws:iam::210987654321:role/pullkeeper-pull" }
    secret: pullkeeper/shared-ecr-west`;
const ecrPublic = `
  - id: public
    host: public.ecr.aws
    kind: ecr-public
    source: { type: ecr-token, account: "123456789012", region: us-east-1 }
    secret: pullkeeper/ecr-public`;
const dockerHub = `
  - id: hub
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: managed-secret }
    secret: pullkeeper/dockerhub`;

const config = (...registries: string[]) => parseConfig(`registries:${registries.join("")}\n`, "test.yaml");

describe("refreshPermissions", () => {
  it("one own-account ECR registry with a secret given by name", () => {
    const statements = refreshPermissions(config(ownAccountEcr), ctx);
    expect(statements).toEqual([
      { actions: SECRET_ACTIONS, resources: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-??????"] },
      fingerprintStatement,
      { actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
      ledgerStatement,
      busStatement,
    ]);
    expectLeastPrivilege(statements);
  });

  it("named and ARN secrets, a cross-account role, ECR Public and a managed secret", () => {
    const statements = refreshPermissions(config(ownAccountEcr, crossAccountEcr, secondRegionSameRole, ecrPublic, dockerHub), ctx);
    expect(statements).toEqual([
      {
        actions: SECRET_ACTIONS,
        resources: [
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-??????",
          // A full ARN is used as given.
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/shared-ecr-AbC123",
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/shared-ecr-west-??????",
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ecr-public-??????",
          // Not pullkeeper/dockerhub: refresh never writes a managed secret.
        ],
      },
      fingerprintStatement,
      // The role two registries share is named once.
      { actions: ["sts:AssumeRole"], resources: ["arn:aws:iam::210987654321:role/pullkeeper-pull"] },
      { actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
      { actions: ["ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken"], resources: ["*"] },
      ledgerStatement,
      busStatement,
    ]);
    expectLeastPrivilege(statements);
  });

  it("no ECR token permission when every ECR token is minted by an assumed role", () => {
    const statements = refreshPermissions(config(crossAccountEcr), ctx);
    expect(statements).toEqual([
      { actions: SECRET_ACTIONS, resources: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/shared-ecr-AbC123"] },
      fingerprintStatement,
      { actions: ["sts:AssumeRole"], resources: ["arn:aws:iam::210987654321:role/pullkeeper-pull"] },
      ledgerStatement,
      busStatement,
    ]);
    expectLeastPrivilege(statements);
  });

  it("only managed secrets: no credential secret, no role, no token permissions", () => {
    const statements = refreshPermissions(config(dockerHub), ctx);
    expect(statements).toEqual([fingerprintStatement, ledgerStatement, busStatement]);
    expect(statements.flatMap((s) => s.actions)).not.toContain("sts:AssumeRole");
    expectLeastPrivilege(statements);
  });

  it("ECR Public alone needs its own token actions and not ECR's", () => {
    const actions = refreshPermissions(config(ecrPublic), ctx).flatMap((s) => s.actions);
    expect(actions).toContain("ecr-public:GetAuthorizationToken");
    expect(actions).toContain("sts:GetServiceBearerToken");
    expect(actions).not.toContain("ecr:GetAuthorizationToken");
  });

  it("builds secret ARNs in the deploy partition, region and account", () => {
    const gov = { partition: "aws-us-gov", region: "us-gov-west-1", account: "111122223333" };
    expect(secretArn("pullkeeper/x", gov)).toBe("arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:pullkeeper/x-??????");
    expect(secretArn("arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:x-AbCdEf", gov)).toBe("arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:x-AbCdEf");
    const statements = refreshPermissions(config(ownAccountEcr), { ...ctx, ...gov });
    expect(statements[0]?.resources).toEqual(["arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:pullkeeper/prod-ecr-??????"]);
  });
});

describe("the least-privilege check used on every statement", () => {
  it("rejects wildcard actions and `*` on resource-scoped services", () => {
    const table = ctx.tableArn;
    expect(() => expectLeastPrivilege([{ actions: ["*"], resources: [table] }])).toThrow();
    expect(() => expectLeastPrivilege([{ actions: ["dynamodb:*"], resources: [table] }])).toThrow();
    expect(() => expectLeastPrivilege([{ actions: ["secretsmanager:GetSecretValue"], resources: ["*"] }])).toThrow();
    expect(() => expectLeastPrivilege([{ actions: ["sts:AssumeRole"], resources: ["*"] }])).toThrow();
    expect(() => expectLeastPrivilege([{ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }, { actions: ["events:PutEvents"], resources: [ctx.busArn] }])).not.toThrow();
  });
});

describe("scheduleExpression", () => {
  it("passes rate() and cron() through and rejects anything else", () => {
    expect(scheduleExpression("rate(15 minutes)")).toBe("rate(15 minutes)");
    expect(scheduleExpression("cron(0/10 * * * ? *)")).toBe("cron(0/10 * * * ? *)");
    expect(() => scheduleExpression("every 15 minutes")).toThrow(/settings\.refreshSchedule/);
    expect(() => scheduleExpression("hourly", "settings.reconcileSchedule")).toThrow(/^settings\.reconcileSchedule: expected rate\(\.\.\.\) or cron\(\.\.\.\), got "hourly"$/);
  });
});

describe("schedulePermissions and schedulerTrust (an EventBridge Scheduler schedule's role)", () => {
  const functionArn = "arn:aws:lambda:eu-west-1:123456789012:function:pullkeeper-test-Refresh";
  const deadLetterQueueArn = "arn:aws:sqs:eu-west-1:123456789012:pullkeeper-test-RefreshFailures";

  it("invokes exactly one function and sends to exactly one queue, nothing on a wildcard", () => {
    const statements = schedulePermissions({ functionArn, deadLetterQueueArn });
    expect(statements).toEqual([
      { actions: ["lambda:InvokeFunction"], resources: [functionArn] },
      { actions: ["sqs:SendMessage"], resources: [deadLetterQueueArn] },
    ]);
    expectLeastPrivilege(statements);
  });

  it("is assumed by EventBridge Scheduler only, for schedules of the deploy account", () => {
    expect(schedulerTrust("123456789012")).toEqual({
      actions: ["sts:AssumeRole"],
      principals: [{ type: "Service", identifiers: ["scheduler.amazonaws.com"] }],
      conditions: [{ test: "StringEquals", variable: "aws:SourceAccount", values: ["123456789012"] }],
    });
  });

  it("retries a tick a few times before dead-lettering it", () => {
    expect(SCHEDULE_RETRY_ATTEMPTS).toBe(3);
  });
});

describe("loadDeployConfig", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "pullkeeper-deploy-config-"));
  writeFileSync(path.join(root, "pullkeeper.yaml"), `registries:${ownAccountEcr}\nsettings: { refreshSchedule: "rate(30 minutes)" }\n`);
  mkdirSync(path.join(root, "config"));
  writeFileSync(path.join(root, "config", "bad.yaml"), "registries:\n  - id: Prod\n    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\n    kind: ecr\n    source: { type: ecr-token, account: \"123\", region: eu-west-1 }\n    secret: x\n");

  it("reads pullkeeper.yaml at the app root by default", () => {
    const loaded = loadDeployConfig({}, root);
    expect(loaded.file).toBe(path.join(root, "pullkeeper.yaml"));
    expect(loaded.relativeFile).toBe("pullkeeper.yaml");
    expect(loaded.config.registries.map((r) => r.id)).toEqual(["prod-ecr"]);
    expect(loaded.config.settings.refreshSchedule).toBe("rate(30 minutes)");
  });

  it("fails with every problem named by its path in the file given by PULLKEEPER_CONFIG", () => {
    const load = () => loadDeployConfig({ PULLKEEPER_CONFIG: "config/bad.yaml" }, root);
    expect(load).toThrow(/^config\/bad\.yaml is not valid:/);
    expect(load).toThrow(/registries\[0\]\.id: expected lower-case letters/);
    expect(load).toThrow(/registries\[0\]\.source\.account: expected a 12-digit AWS account ID/);
  });

  it("fails clearly when the file is missing or outside the app", () => {
    expect(() => loadDeployConfig({ PULLKEEPER_CONFIG: "nope.yaml" }, root)).toThrow(/cannot read the pullkeeper config nope\.yaml \(ENOENT\)/);
    expect(() => loadDeployConfig({ PULLKEEPER_CONFIG: "../elsewhere.yaml" }, root)).toThrow(/must be inside the app directory/);
  });
});
