import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inlineStatements, input, refreshFlow } from "./declared";
import { expectLeastPrivilege } from "./iam-invariants";
import { ensureSstPlatform, readZip, runSstApp, SstRunError, type SstRun } from "./sst-harness";
import { shippedConfigOf } from "./shipped-config.js";

/**
 * The same program, stage "production", with PULLKEEPER_CONFIG pointing at a fixture that has
 * an ARN secret, a cross-account role, ECR Public and a managed secret; and with an invalid file.
 */
const FIXTURE = "test/infra/fixtures/pullkeeper.production.yaml";
const INVALID = "test/infra/fixtures/pullkeeper.invalid.yaml";

let invalid: unknown;
let run: SstRun;
let flow: ReturnType<typeof refreshFlow>;

beforeAll(async () => {
  ensureSstPlatform();
  invalid = await runSstApp({ stage: "production", env: { PULLKEEPER_CONFIG: INVALID } }).then(
    () => undefined,
    (error: unknown) => error,
  );
  run = await runSstApp({ stage: "production", env: { PULLKEEPER_CONFIG: FIXTURE } });
  flow = refreshFlow(run);
}, 10 * 60_000);

describe("an invalid pullkeeper.yaml", () => {
  it("fails the deploy with every problem named by its path in the file", () => {
    expect(invalid).toBeInstanceOf(SstRunError);
    const message = (invalid as SstRunError).message;
    expect(message).toMatch(new RegExp(`^${INVALID.replaceAll(".", "\\.")} is not valid:`));
    expect(message).toContain(`\n  ${INVALID}:4:11 registries[0].host: host names account 123456789012 in eu-west-1, but source says 999999999999 in eu-west-1`);
    expect(message).toContain(`\n  ${INVALID}:9:20 settings.refreshSchedule: schedule expression "every 15 minutes" is not valid: expected rate(<value> <unit>) or cron(`);
  });

  it("declares nothing", () => {
    expect((invalid as SstRunError).declared.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});

describe("production stage", () => {
  it("protects the ledger and keeps it and the fingerprint key on `sst remove`", () => {
    expect(input(flow.table, "deletionProtectionEnabled")).toBe(true);
    expect(flow.table.retainOnDelete).toBe(true);
    expect(flow.secret.retainOnDelete).toBe(true);
    expect(input(flow.secret, "recoveryWindowInDays")).toBe(30);
    expect(input(flow.secret, "name")).toBe("pullkeeper/production/fingerprint-key");
  });

  it("is a protected stage (`sst remove` refuses it)", () => {
    expect(run.outputs._protect).toBe(true);
  });

  it("schedules refresh on the fixture's settings.refreshSchedule, and every schedule in its settings.timezone", () => {
    expect(input(flow.schedule.schedule, "scheduleExpression")).toBe("cron(0/10 * * * ? *)");
    const schedules = run.ofType("aws:scheduler/schedule:Schedule");
    expect(schedules.map((s) => input(s, "name")).sort()).toEqual(["pullkeeper-production-audit-scan", "pullkeeper-production-reconcile", "pullkeeper-production-refresh"]);
    for (const schedule of schedules) expect(input(schedule, "scheduleExpressionTimezone"), schedule.name).toBe("Europe/Berlin");
  });

  it("ships the document of the file PULLKEEPER_CONFIG named, as pullkeeper.json", () => {
    expect(run.builds).toHaveLength(6);
    for (const build of run.builds) expect(build.copyFiles, build.functionID).toEqual([shippedConfigOf(run, FIXTURE).copyFile]);
    const zip = readZip(path.join(run.workDir, "artifacts", "Refresh", "code.zip"));
    expect(zip.get("pullkeeper.json")?.toString("utf8")).toBe(shippedConfigOf(run, FIXTURE).json);
    expect(input(flow.fn, "environment", "variables", "PULLKEEPER_CONFIG")).toBe("pullkeeper.json");
  });

  it("derives IAM from the fixture: its token secrets, its role, ECR and ECR Public tokens, not the managed secret", () => {
    const statements = inlineStatements(flow.role);
    const byAction = (action: string) => statements.filter((s) => s.actions.includes(action)).map((s) => s.resources);
    expect(byAction("secretsmanager:UpdateSecretVersionStage")).toEqual([
      [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-??????",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/shared-ecr-AbC123",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ecr-public-??????",
      ],
    ]);
    expect(byAction("sts:AssumeRole")).toEqual([["arn:aws:iam::210987654321:role/pullkeeper-pull"]]);
    expect(byAction("ecr:GetAuthorizationToken")).toEqual([["*"]]);
    expect(byAction("ecr-public:GetAuthorizationToken")).toEqual([["*"]]);
    expect(byAction("sts:GetServiceBearerToken")).toEqual([["*"]]);
    expect(JSON.stringify(statements)).not.toContain("pullkeeper/dockerhub");
    expectLeastPrivilege(statements);
  });
});
