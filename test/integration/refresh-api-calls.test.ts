import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNTS, type RefreshApiScenario, refreshApiScenario, SCOPES } from "../support/refresh-api-scenario.js";

/**
 * Issue 15, benchmark 4: what one refresh of 100 ECR registries in 3 accounts × 2 regions costs in
 * AWS API calls, counted by a middleware on every client (test/support/aws-call-counter.ts). ECR
 * allows 20 GetAuthorizationToken/s per account and Secrets Manager ~50 writes/s shared, so a
 * refresh that minted per registry, or wrote more per secret, would be throttled as fleets grow.
 */
// ~15 s on a quiet machine (about a thousand SDK calls, dynalite in process); room for a loaded one.
const TIMEOUT = 120_000;

let scenario: RefreshApiScenario;
beforeAll(async () => {
  scenario = await refreshApiScenario(100);
});
afterAll(async () => {
  await scenario.stop();
});

describe("AWS API calls of one refresh, 100 ECR registries in 3 accounts × 2 regions", () => {
  it("mints once per (account, region, role), assumes each role once, and writes each changed secret once, as current", async () => {
    const { report, calls } = await scenario.run();
    const changed = report.results.filter((r) => r.outcome === "refreshed").length;
    expect(changed).toBe(100);

    // One token serves every registry of its scope: 6, not one per registry.
    expect(calls.calls("ecr.GetAuthorizationToken")).toBe(SCOPES);
    expect(calls.calls("ecr")).toBe(SCOPES);
    // Each account's role is assumed once for both its regions: 3, not 6.
    expect(calls.calls("sts.AssumeRole")).toBe(ACCOUNTS.length);
    expect(calls.calls("sts")).toBe(ACCOUNTS.length);

    // Per changed secret one write: the token was verified before it is written, so PutSecretValue
    // labels it AWSCURRENT at once (the old one becomes AWSPREVIOUS) — no staged AWSPENDING version
    // to promote and clear, which took two more UpdateSecretVersionStage calls before.
    expect(calls.calls("secretsmanager.PutSecretValue")).toBe(changed);
    expect(calls.calls("secretsmanager.UpdateSecretVersionStage")).toBe(0);
    // Reads: DescribeSecret before the write, the current value once.
    expect(calls.calls("secretsmanager.DescribeSecret")).toBe(changed);
    expect(calls.calls("secretsmanager.GetSecretValue")).toBe(changed);
    expect(calls.calls("secretsmanager")).toBe(3 * changed);

    // One PutEvents per 10 Credential Rotated events (the API's batch limit).
    expect(calls.calls("events.PutEvents")).toBe(Math.ceil(changed / 10));
    // The ledger: the registry's state read; for a due one its last write intent read, the new one
    // put before the vault write; then the version and its history entry put, the state updated.
    expect(calls.snapshot()).toMatchObject({ "dynamodb.GetItem": 100 + changed, "dynamodb.PutItem": 3 * changed, "dynamodb.UpdateItem": changed });
    expect(calls.calls("dynamodb")).toBe(100 + 5 * changed);
  }, TIMEOUT);

  it("a second run while every token is fresh reads the ledger and calls nothing else", async () => {
    const { report, calls } = await scenario.run();
    expect(report.results.every((r) => r.outcome === "fresh")).toBe(true);
    expect(calls.snapshot()).toEqual({ "dynamodb.GetItem": 100 });
  }, TIMEOUT);
});
