import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturingOutput } from "../contract/target-contract.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { type DynamoFaultProxy, dynamoFaultProxy } from "./dynamo-fault-proxy.js";
import { type AwsService, dynamoWire, FAULT_ROWS, type FaultRow } from "./fault-table.js";
import { expectClassified } from "./flow-checks.js";
import { refreshWorld, type RefreshWorld, type TokenKind } from "./refresh-world.js";

/**
 * Every AWS service the refresh flow uses, failing in every way the fault table lists while a
 * refresh meets it: the run reports the registry failed under a classified code (or, for the
 * announcement, names the undelivered events), AWSCURRENT only ever holds a token the registry
 * accepted, nobody is told of a version that is not current, and the next run, with the fault
 * gone, leaves the vault and the ledger on the same verified version.
 */

interface Dependency {
  readonly name: string;
  readonly service: AwsService;
  /** Which registry's refresh meets it. */
  readonly kind: TokenKind;
  /** The fault comes after the promotion (the ledger's record, the announcement): the verified token is current already. */
  readonly afterPromotion?: boolean;
  /** The fault fails the run's announcement, not the registry's refresh. */
  readonly announcement?: boolean;
  arm(w: RefreshWorld, proxy: DynamoFaultProxy, row: FaultRow): boolean;
}

const sdk = (name: string, service: AwsService, kind: TokenKind, pick: (w: RefreshWorld) => RefreshWorld["faults"][keyof RefreshWorld["faults"]], commands?: readonly string[], extra: Partial<Dependency> = {}): Dependency => ({
  name,
  service,
  kind,
  ...extra,
  arm: (w, _proxy, row) => row.aws !== undefined && (pick(w).arm(() => row.aws!(service), commands === undefined ? undefined : (c) => commands.includes(c)), true),
});

const dynamo = (name: string, operations: readonly string[], extra: Partial<Dependency> = {}): Dependency => ({
  name,
  service: "dynamodb",
  kind: "ecr",
  ...extra,
  arm: (_w, proxy, row) => {
    const fault = dynamoWire(row);
    if (fault !== undefined) proxy.arm(fault, operations);
    return fault !== undefined;
  },
});

const DEPENDENCIES: readonly Dependency[] = [
  sdk("ECR (GetAuthorizationToken)", "ecr", "ecr", (w) => w.faults.ecr),
  sdk("ECR Public (GetAuthorizationToken)", "ecr-public", "ecr-public", (w) => w.faults.ecrPublic),
  sdk("Secrets Manager, reads (DescribeSecret, GetSecretValue)", "secrets-manager", "ecr", (w) => w.faults.secretsManager, ["DescribeSecret", "GetSecretValue"]),
  // The refresh's one write: the verified token labelled AWSCURRENT. It calls UpdateSecretVersionStage
  // only to promote a token an earlier run wrote and never recorded, which no fault row here reaches.
  sdk("Secrets Manager, the write (PutSecretValue as AWSCURRENT)", "secrets-manager", "ecr", (w) => w.faults.secretsManager, ["PutSecretValue"]),
  dynamo("DynamoDB reads (GetItem, Query)", ["GetItem", "Query"]),
  // The first write is the token's write intent, before the vault's: every write failing fails the run before it.
  dynamo("DynamoDB writes (PutItem, UpdateItem)", ["PutItem", "UpdateItem"]),
  // Only the record after the vault's write: the next run takes the written token up through its intent.
  dynamo("DynamoDB, the record after the write (UpdateItem)", ["UpdateItem"], { afterPromotion: true }),
  sdk("EventBridge (PutEvents)", "eventbridge", "ecr", (w) => w.faults.eventBridge, undefined, { afterPromotion: true, announcement: true }),
];

let dynamoDb: EmbeddedDynamo;
let proxy: DynamoFaultProxy;
let registry: TestRegistry;
beforeAll(async () => {
  dynamoDb = await startDynalite();
  proxy = await dynamoFaultProxy(dynamoDb.endpoint);
  registry = await startRegistry({ AWS: "nobody-yet" });
}, 30_000);
afterAll(async () => {
  await proxy.close();
  await Promise.all([dynamoDb.stop(), registry.stop()]);
});

/** What consumers may ever see: AWSCURRENT is the newest token the registry accepted, and every announcement names it. */
function expectOnlyVerifiedCurrent(w: RefreshWorld, id: string, seeded: string | undefined): void {
  const current = w.currentVersion(id);
  if (current !== seeded) expect(w.currentPassword(id), "AWSCURRENT holds a token the registry did not accept").toBe(w.minted.at(-1));
  for (const event of w.announced) expect(event, "an announcement names a version that is not current").toEqual(expect.objectContaining({ registryId: id, versionId: current }));
}

for (const dependency of DEPENDENCIES) {
  describe(`faults: ${dependency.name}, in the refresh flow`, () => {
    for (const row of FAULT_ROWS) {
      it(`${row.name}: ${dependency.announcement === true ? "the undelivered announcement reported" : "the registry failed with a classified reason"}, nothing unverified promoted, the next run recovers`, async (ctx) => {
        const w = await refreshWorld(dynamoDb, proxy, registry);
        if (!dependency.arm(w, proxy, row)) return ctx.skip(); // AWS sends no Retry-After
        const id = w.registryId(dependency.kind);
        const seeded = w.currentVersion(id);
        const { settled, output } = await capturingOutput(() => w.service.run(w.registries, { registryIds: [id] }));
        proxy.clear();
        for (const faults of Object.values(w.faults)) faults.clear();
        expect(settled.error).toBeUndefined();
        const report = settled.value!;
        const result = report.results[0]!;

        if (dependency.announcement === true) {
          expect(result.outcome).toBe("refreshed");
          expect(report.eventError, "the lost announcement is not reported").toMatch(/EventBridge PutEvents/);
        } else {
          expect(result.outcome, JSON.stringify(result)).toBe("failed");
          expectClassified(result.outcome === "failed" ? result.code : undefined, row.retryable, "the report's reason");
          if (dependency.afterPromotion !== true) {
            expect(w.currentVersion(id), "promoted although the run failed before promotion").toBe(seeded);
            expect((await w.ledger.registryState(id))?.current).toBeUndefined();
          }
        }
        expect(w.announced, "consumers were told of a refresh that did not complete").toEqual([]);
        expectOnlyVerifiedCurrent(w, id, seeded);
        for (const password of w.minted) expect(`${output} ${JSON.stringify(report)}`).not.toContain(password);

        // The next scheduled run, with the fault gone: vault and ledger on the same verified version.
        const mintedBefore = w.minted.length;
        const next = await w.service.run(w.registries, { registryIds: [id] });
        expect(["refreshed", "fresh"], JSON.stringify(next.results[0])).toContain(next.results[0]?.outcome);
        if (dependency.afterPromotion === true && dependency.announcement !== true) {
          // Written, never recorded: taken up through its write intent, not replaced by a second token.
          expect(next.results[0]).toMatchObject({ outcome: "refreshed", reason: "unrecorded-write" });
          expect(w.minted, "a second token minted although the first was written").toHaveLength(mintedBefore);
        }
        const state = await w.ledger.registryState(id);
        expect(state?.current).toMatchObject({ versionId: w.currentVersion(id), verification: { status: "ok" } });
        expect(w.currentVersion(id)).not.toBe(seeded);
        expectOnlyVerifiedCurrent(w, id, seeded);
      });
    }
  });
}
