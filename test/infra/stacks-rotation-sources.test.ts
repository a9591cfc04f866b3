import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { apiPermissions } from "../../stacks/audit-permissions.js";
import { apiRotationPermissions, revokePermissions, rotatePermissions, rotationPlan, type RotationPlan } from "../../stacks/rotation-permissions.js";
import { arnOf, inlineStatements, input, lambda, propagationFlow, refreshFlow } from "./declared";
import { expectLeastPrivilege } from "./iam-invariants";
import { ensureSstPlatform, FAKE_ACCOUNT, FAKE_PARTITION, FAKE_REGION, REPO_ROOT, runSstApp, type SstRun } from "./sst-harness";

/**
 * The rotation stack for sources that rotate through a provider's HTTP API (dockerhub-token): no
 * EFS, no VPC, the admin login's secret readable and nothing else; next to htpasswd (mixed: the
 * EFS mount and VPC stay, both registries rotated); and htpasswd alone unchanged. The real
 * sst.config.ts → stacks/ under Pulumi mocks (test/infra/sst-harness.ts), stage "test".
 */
const DOCKERHUB = "examples/dockerhub-token.yaml";
const MIXED = "test/infra/fixtures/pullkeeper.rotation-mixed.yaml";
const HTPASSWD = "test/infra/fixtures/pullkeeper.rotation.yaml";
/** What rotatePermissions / revokePermissions / apiRotationPermissions derived for HTPASSWD before rotated sources without EFS existed. */
const HTPASSWD_IAM = "test/infra/fixtures/rotation-htpasswd-iam.json";

const read = (file: string) => parseConfig(readFileSync(path.join(REPO_ROOT, file), "utf8"), file);
const here = { partition: FAKE_PARTITION, region: FAKE_REGION, account: FAKE_ACCOUNT };

const ACCESS_POINT = "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0";
const FILE_SYSTEM = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0";
const SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"];
const SECURITY_GROUPS = ["sg-0ccccccccccccccc3"];
const SECRET = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}`;
/** The example's registry secret and admin login, by name: IAM names them with the random-suffix pattern. */
const DOCKERHUB_SECRET = SECRET("pullkeeper/dockerhub-??????");
const DOCKERHUB_ADMIN = SECRET("pullkeeper/dockerhub-admin-??????");
/** The mixed fixture's admin login, by full ARN. */
const MIXED_ADMIN = SECRET("pullkeeper/dockerhub-admin-Ad1Min");
const HARBOR_SECRET = SECRET("pullkeeper/harbor-??????");

type Statement = { actions: string[]; resources: string[] };

let dockerhub: SstRun;
let mixed: SstRun;

beforeAll(async () => {
  ensureSstPlatform();
  dockerhub = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: DOCKERHUB } });
  mixed = await runSstApp({ stage: "test", env: { PULLKEEPER_CONFIG: MIXED } });
}, 10 * 60_000);

const ctx = (run: SstRun) => {
  const { table, bus, secret } = refreshFlow(run);
  return { ...here, tableArn: arnOf(table), busArn: arnOf(bus), fingerprintKeySecretArn: arnOf(secret) };
};

function rotationFlow(run: SstRun) {
  return {
    rotate: lambda(run, "Rotate"),
    revoke: lambda(run, "Revoke"),
    failures: run.get("aws:sqs/queue:Queue", "RevokeFailuresQueue"),
    rotations: run.ofType("aws:secretsmanager/secretRotation:SecretRotation"),
    permissions: run.ofType("aws:lambda/permission:Permission").filter((p) => p.name.startsWith("RotationPermission-")),
  };
}

const secretsManager = (statements: readonly Statement[]) => statements.filter((s) => s.actions.some((a) => a.startsWith("secretsmanager:")));
const byAction = (statements: readonly Statement[], action: string) => statements.filter((s) => s.actions.includes(action)).flatMap((s) => s.resources);
const mentions = (statements: readonly Statement[], service: string) => statements.some((s) => s.actions.some((a) => a.startsWith(`${service}:`)));

describe("the rotation plan of sources without EFS (pure)", () => {
  it("a Docker Hub registry alone: planned, with no EFS; its admin login is in the rotated registries' source permissions", () => {
    const plan = rotationPlan(read(DOCKERHUB), DOCKERHUB) as RotationPlan;
    expect(plan.registries).toEqual([{ index: 0, id: "dockerhub", secret: "pullkeeper/dockerhub", schedule: "rate(7 days)" }]);
    expect(plan).not.toHaveProperty("efs");
    expect(plan.rotated.map((r) => r.id)).toEqual(["dockerhub"]);
  });

  it("with an htpasswd registry: the htpasswd registry's EFS, both rotated, ECR not", () => {
    const plan = rotationPlan(read(MIXED), MIXED) as RotationPlan;
    expect(plan.registries).toEqual([
      { index: 0, id: "harbor", secret: "pullkeeper/harbor", schedule: "rate(1 day)" },
      { index: 1, id: "dockerhub", secret: "pullkeeper/dockerhub", schedule: "cron(0 6 ? * MON *)" },
    ]);
    expect(plan.efs).toEqual({ fileSystem: "fs-0123456789abcdef0", accessPoint: ACCESS_POINT, subnets: SUBNETS, securityGroups: SECURITY_GROUPS });
  });

  it("Secrets Manager's schedule and one-secret-per-registry checks apply to every rotated registry; EFS only to htpasswd", () => {
    const config = parseConfig(
      `registries:
  - id: hub
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: dockerhub-token, admin: pullkeeper/hub-admin, rotation: rate(2 hours) }
    secret: pullkeeper/hub
  - id: hub-2
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: dockerhub-token, admin: pullkeeper/hub-admin, rotation: cron(30 4 * * ? *) }
    secret: pullkeeper/hub
  - id: files
    host: harbor.internal.example.com
    kind: generic
    source: { type: htpasswd, file: /srv/htpasswd }
    secret: pullkeeper/files
`,
      "inline.yaml",
    );
    expect(() => rotationPlan(config, "inline.yaml")).toThrow(
      [
        "inline.yaml is not valid:",
        '  registries[0].source.rotation: "rate(2 hours)": Secrets Manager rotates at most every 4 hours: use rate(N hours) with N ≥ 4, or rate(N days)',
        '  registries[1].source.rotation: "cron(30 4 * * ? *)": Secrets Manager opens rotation windows on the hour: the Minutes field must be 0',
        "  registries[1].secret: registries[0] (hub) rotates the same secret; Secrets Manager rotates a secret with one function on one schedule, so each rotated registry needs its own",
        '  registries[2].source.efs: registry "files" is an htpasswd registry; on AWS its rotation writes source.file on EFS: set source.efs (fileSystem, accessPoint, subnets, securityGroups) and put source.file below /mnt/htpasswd/ (README, "Deploy to AWS")',
      ].join("\n"),
    );
  });

  it("without an EFS: no EC2 or EFS statement; GetSecretValue on exactly the admin login; one admin shared by two registries is named once", () => {
    const config = parseConfig(
      `registries:
  - { id: a, host: registry-1.docker.io, kind: dockerhub, source: { type: dockerhub-token, admin: pullkeeper/hub-admin }, secret: pullkeeper/a }
  - { id: b, host: registry-1.docker.io, kind: dockerhub, source: { type: dockerhub-token, admin: pullkeeper/hub-admin }, secret: pullkeeper/b }
`,
      "inline.yaml",
    );
    const plan = rotationPlan(config) as RotationPlan;
    const context = { ...here, tableArn: "t", busArn: "b", fingerprintKeySecretArn: "f", failuresQueueArn: "q" };
    for (const statements of [rotatePermissions(plan, context), revokePermissions(plan, context)]) {
      expect(mentions(statements, "ec2")).toBe(false);
      expect(mentions(statements, "elasticfilesystem")).toBe(false);
      expect(statements).toContainEqual({ actions: ["secretsmanager:GetSecretValue"], resources: [SECRET("pullkeeper/hub-admin-??????")] });
      expect(byAction(statements, "secretsmanager:PutSecretValue")).toEqual([SECRET("pullkeeper/a-??????"), SECRET("pullkeeper/b-??????"), "f"]);
    }
  });
});

describe("htpasswd alone: IAM unchanged", () => {
  it("rotate, revoke and the audit API's rotation statements equal those derived before sources without EFS", () => {
    const before = JSON.parse(readFileSync(path.join(REPO_ROOT, HTPASSWD_IAM), "utf8")) as {
      ctx: { failuresQueueArn: string; rotateFunctionArn: string; revokeFunctionArn: string } & ReturnType<typeof ctx>;
      plan: Pick<RotationPlan, "registries" | "efs">;
      rotate: Statement[];
      revoke: Statement[];
      api: Statement[];
    };
    const plan = rotationPlan(read(HTPASSWD), HTPASSWD) as RotationPlan;
    expect({ registries: plan.registries, efs: plan.efs }).toEqual(before.plan);
    expect(rotatePermissions(plan, before.ctx)).toEqual(before.rotate);
    expect(revokePermissions(plan, before.ctx)).toEqual(before.revoke);
    expect(apiRotationPermissions(plan, before.ctx)).toEqual(before.api);
    // The snapshot itself: the VPC and EFS statements are there.
    expect(mentions(before.rotate, "ec2")).toBe(true);
    expect(before.rotate).toContainEqual({ actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], resources: [FILE_SYSTEM] });
  });
});

describe("a Docker Hub registry alone (examples/dockerhub-token.yaml)", () => {
  it("deploys the rotate and revoke functions outside any VPC, mounting nothing", () => {
    const { rotate, revoke } = rotationFlow(dockerhub);
    for (const { fn } of [rotate, revoke]) {
      expect(input(fn, "vpcConfig"), fn.name).toBeUndefined();
      expect(input(fn, "fileSystemConfig"), fn.name).toBeUndefined();
    }
    expect(input(rotate.fn, "handler")).toBe("functions/rotate.handler");
    expect(input(revoke.fn, "handler")).toBe("functions/revoke.handler");
    expect(input(revoke.fn, "reservedConcurrentExecutions")).toBe(1);
    // No function of the deploy is in a VPC or mounts a file system.
    for (const fn of dockerhub.ofType("aws:lambda/function:Function")) {
      expect(input(fn, "vpcConfig"), fn.name).toBeUndefined();
      expect(input(fn, "fileSystemConfig"), fn.name).toBeUndefined();
    }
    expect(Object.keys(dockerhub.outputs)).toEqual(expect.arrayContaining(["rotateFunction", "revokeFunction", "revokeFailuresQueue", "rotationErrorsAlarm", "revokeFailuresAlarm"]));
  });

  it("rotates the registry's secret on its source.rotation with the rotate function, which Secrets Manager may invoke for that secret only", () => {
    const { rotate, rotations, permissions } = rotationFlow(dockerhub);
    expect(rotations.map((r) => [r.name, r.inputs])).toEqual([
      ["Rotation-dockerhub", { secretId: "pullkeeper/dockerhub", rotationLambdaArn: arnOf(rotate.fn), rotationRules: { scheduleExpression: "rate(7 days)" }, rotateImmediately: false }],
    ]);
    expect(permissions.map((p) => [p.name, p.inputs])).toEqual([
      ["RotationPermission-dockerhub", { action: "lambda:InvokeFunction", function: arnOf(rotate.fn), principal: "secretsmanager.amazonaws.com", sourceArn: DOCKERHUB_SECRET }],
    ]);
  });

  it("rotate's IAM: the registry's secret, GetSecretValue on exactly the admin login, no EC2 or EFS, nothing on Secrets Manager's `*`", () => {
    const run = dockerhub;
    const plan = rotationPlan(read(DOCKERHUB), DOCKERHUB) as RotationPlan;
    const { table, bus, secret } = refreshFlow(run);
    const statements = inlineStatements(rotationFlow(run).rotate.role);
    expect(statements).toEqual(rotatePermissions(plan, ctx(run)));
    expect(statements).toEqual([
      { actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"], resources: [DOCKERHUB_SECRET] },
      { actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], resources: [arnOf(secret)] },
      { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:DeleteItem"], resources: [arnOf(table)] },
      { actions: ["events:PutEvents"], resources: [arnOf(bus)] },
      { actions: ["secretsmanager:GetSecretValue"], resources: [DOCKERHUB_ADMIN] },
      { actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] },
    ]);
    expect(byAction(statements, "secretsmanager:GetSecretValue")).toEqual([DOCKERHUB_SECRET, arnOf(secret), DOCKERHUB_ADMIN]);
    // The admin login is read, never written or promoted.
    expect(secretsManager(statements).filter((s) => s.resources.includes(DOCKERHUB_ADMIN))).toEqual([{ actions: ["secretsmanager:GetSecretValue"], resources: [DOCKERHUB_ADMIN] }]);
    expect(mentions(statements, "ec2")).toBe(false);
    expect(mentions(statements, "elasticfilesystem")).toBe(false);
    expect(secretsManager(statements).flatMap((s) => s.resources)).not.toContain("*");
    expectLeastPrivilege(statements);
    expect(input(rotationFlow(run).rotate.role, "managedPolicyArns")).toEqual(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
  });

  it("revoke's IAM: the same plus its failure queue; no EC2 or EFS, nothing on Secrets Manager's `*`", () => {
    const run = dockerhub;
    const plan = rotationPlan(read(DOCKERHUB), DOCKERHUB) as RotationPlan;
    const flow = rotationFlow(run);
    const statements = inlineStatements(flow.revoke.role);
    expect(statements).toEqual(revokePermissions(plan, { ...ctx(run), failuresQueueArn: arnOf(flow.failures) }));
    expect(statements).toContainEqual({ actions: ["secretsmanager:GetSecretValue"], resources: [DOCKERHUB_ADMIN] });
    expect(statements).toContainEqual({ actions: ["sqs:SendMessage"], resources: [arnOf(flow.failures)] });
    expect(byAction(statements, "secretsmanager:GetSecretValue")).toEqual([DOCKERHUB_SECRET, arnOf(refreshFlow(run).secret), DOCKERHUB_ADMIN]);
    expect(mentions(statements, "ec2")).toBe(false);
    expect(mentions(statements, "elasticfilesystem")).toBe(false);
    expect(secretsManager(statements).flatMap((s) => s.resources)).not.toContain("*");
    expectLeastPrivilege(statements);
  });

  it("the audit API may RotateSecret the registry's secret and invoke rotate and revoke; the admin login is not the API's", () => {
    const run = dockerhub;
    const { rotate, revoke } = rotationFlow(run);
    const statements = inlineStatements(lambda(run, "Api").role);
    const plan = rotationPlan(read(DOCKERHUB), DOCKERHUB) as RotationPlan;
    const { table, bus, secret, fn: refreshFn } = refreshFlow(run);
    const apiCtx = {
      ...here,
      tableArn: arnOf(table),
      busArn: arnOf(bus),
      fingerprintKeySecretArn: arnOf(secret),
      deliveryQueueArn: arnOf(propagationFlow(run).deliveries),
      refreshFunctionArn: arnOf(refreshFn),
      auditScanFunctionArn: arnOf(lambda(run, "AuditScan").fn),
      rotation: { plan, rotateFunctionArn: arnOf(rotate.fn), revokeFunctionArn: arnOf(revoke.fn) },
    };
    expect(statements).toEqual(apiPermissions(read(DOCKERHUB), apiCtx));
    expect(byAction(statements, "secretsmanager:RotateSecret")).toEqual([DOCKERHUB_SECRET]);
    expect(JSON.stringify(statements)).not.toContain("dockerhub-admin");
    expect(input<Record<string, string>>(lambda(run, "Api").fn, "environment", "variables")).toMatchObject({ PULLKEEPER_REVOKE_FUNCTION: input(revoke.fn, "name") });
  });
});

describe("htpasswd on EFS and Docker Hub together", () => {
  it("both functions keep the htpasswd registry's VPC and mount", () => {
    const { rotate, revoke } = rotationFlow(mixed);
    for (const { fn } of [rotate, revoke]) {
      expect(input(fn, "vpcConfig"), fn.name).toEqual({ subnetIds: SUBNETS, securityGroupIds: SECURITY_GROUPS });
      expect(input(fn, "fileSystemConfig"), fn.name).toEqual({ arn: ACCESS_POINT, localMountPath: "/mnt/htpasswd" });
    }
  });

  it("rotates both registries' secrets, each on its own schedule", () => {
    const { rotate, rotations, permissions } = rotationFlow(mixed);
    expect(rotations.map((r) => [r.name, r.inputs])).toEqual([
      ["Rotation-harbor", { secretId: "pullkeeper/harbor", rotationLambdaArn: arnOf(rotate.fn), rotationRules: { scheduleExpression: "rate(1 day)" }, rotateImmediately: false }],
      ["Rotation-dockerhub", { secretId: "pullkeeper/dockerhub", rotationLambdaArn: arnOf(rotate.fn), rotationRules: { scheduleExpression: "cron(0 6 ? * MON *)" }, rotateImmediately: false }],
    ]);
    expect(permissions.map((p) => input(p, "sourceArn"))).toEqual([HARBOR_SECRET, DOCKERHUB_SECRET]);
  });

  it("rotate and revoke have both sources' statements (EFS, the admin login) and the VPC's", () => {
    const run = mixed;
    const plan = rotationPlan(read(MIXED), MIXED) as RotationPlan;
    const flow = rotationFlow(run);
    const rotate = inlineStatements(flow.rotate.role);
    const revoke = inlineStatements(flow.revoke.role);
    expect(rotate).toEqual(rotatePermissions(plan, ctx(run)));
    expect(revoke).toEqual(revokePermissions(plan, { ...ctx(run), failuresQueueArn: arnOf(flow.failures) }));
    for (const statements of [rotate, revoke]) {
      expect(statements[0]).toEqual({
        actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        resources: [HARBOR_SECRET, DOCKERHUB_SECRET],
      });
      expect(statements).toContainEqual({ actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], resources: [FILE_SYSTEM] });
      expect(statements).toContainEqual({ actions: ["secretsmanager:GetSecretValue"], resources: [MIXED_ADMIN] });
      expect(statements).toContainEqual({ actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], resources: ["*"] });
      expect(statements.filter((s) => s.actions.includes("ec2:CreateNetworkInterface")).flatMap((s) => s.resources)).toEqual([
        ...SUBNETS.map((s) => `arn:aws:ec2:eu-west-1:123456789012:subnet/${s}`),
        ...SECURITY_GROUPS.map((g) => `arn:aws:ec2:eu-west-1:123456789012:security-group/${g}`),
        "arn:aws:ec2:eu-west-1:123456789012:network-interface/*",
      ]);
      expect(secretsManager(statements).flatMap((s) => s.resources)).not.toContain("*");
      expectLeastPrivilege(statements);
    }
    // Neither the ECR registry's secret.
    expect(JSON.stringify([rotate, revoke])).not.toMatch(/prod-ecr/);
  });
});
