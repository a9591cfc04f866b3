import { ACCOUNTS, refreshApiScenario, SCOPES } from "../test/support/refresh-api-scenario.js";
import { type Result, result } from "./result.js";

/**
 * Issue 15, benchmark 4: AWS API calls of one refresh of 100 ECR registries in 3 accounts × 2
 * regions (every registry due), counted by a middleware on each SDK client; the services answer
 * at the HTTP level (test/support/refresh-api-scenario.ts). Bounds: one GetAuthorizationToken per
 * (account, region), one AssumeRole per account's role, and the one write pair per changed
 * secret (PutSecretValue + the UpdateSecretVersionStage that promotes it); a refresh writes its
 * verified token as AWSCURRENT in one PutSecretValue, so it uses half of it.
 * test/integration/refresh-api-calls.test.ts holds the same counts as a test.
 */
export async function refreshApiCalls(): Promise<Result[]> {
  const scenario = await refreshApiScenario(100);
  try {
    const { report, calls } = await scenario.run();
    const changed = report.results.filter((r) => r.outcome === "refreshed").length;
    if (changed === 0) throw new Error(`bench api-calls: nothing was refreshed (${JSON.stringify(report.results.slice(0, 3))})`);
    const writes = calls.calls("secretsmanager.PutSecretValue") + calls.calls("secretsmanager.UpdateSecretVersionStage");
    return [
      result("refresh.100-ecr-3x2.get-authorization-token", calls.calls("ecr.GetAuthorizationToken"), "calls", SCOPES),
      result("refresh.100-ecr-3x2.sts-assume-role", calls.calls("sts.AssumeRole"), "calls", ACCOUNTS.length),
      result("refresh.100-ecr-3x2.secret-writes-per-changed-secret", writes / changed, "calls", 2),
      result("refresh.100-ecr-3x2.secret-reads-per-changed-secret", (calls.calls("secretsmanager") - writes) / changed, "calls"),
      result("refresh.100-ecr-3x2.ledger-calls-per-registry", calls.calls("dynamodb") / scenario.registries, "calls"),
      result("refresh.100-ecr-3x2.put-events", calls.calls("events.PutEvents"), "calls", Math.ceil(changed / 10)),
    ];
  } finally {
    await scenario.stop();
  }
}

// `tsx bench/api-calls.ts`: these figures alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await refreshApiCalls(), null, 2)}\n`);
  process.exit(0);
}
