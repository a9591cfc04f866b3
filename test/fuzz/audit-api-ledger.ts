import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { DynamoLedger } from "@pullkeeper/aws";
import type { Consumer } from "@pullkeeper/core";
import type { EmbeddedDynamo } from "../support/dynalite.js";

/**
 * The ledger the API fuzz runs against: DynamoLedger on dynalite, seeded with a current version,
 * history, a delivery and environments, so the fuzzed routes reach real items and real cursors.
 * Every DynamoDB write is counted at the client (any Put/Update/Delete/Write command), and the
 * table can be read whole, so a refused request that wrote anything is caught twice over.
 */

export const AT = new Date("2026-12-02T08:00:00Z");
export const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-AbCdEf";

export const CONSUMERS: Consumer[] = [
  { id: "pods", registryId: "prod-ecr", target: { kind: "scripted" }, restart: true } as unknown as Consumer,
  { id: "ci", registryId: "hub", target: { kind: "scripted" } } as unknown as Consumer,
];

export interface FuzzLedger {
  /** The ledger the API is given: DynamoLedger, its reads remembered (see cachedReads). */
  readonly ledger: DynamoLedger;
  /** DynamoDB write commands sent since the last call, by name. */
  takeWrites(): string[];
  /** Every item of the table, sorted, as JSON: the ledger's whole state. */
  snapshot(): Promise<string[]>;
}

export async function fuzzLedger(dynamo: EmbeddedDynamo): Promise<FuzzLedger> {
  const tableName = await dynamo.createLedgerTable();
  const client = dynamo.newClient();
  let writes: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? "");
      if (/Put|Update|Delete|Write/.test(name)) writes.push(name);
      return next(args);
    },
    { step: "initialize", name: "countWrites" },
  );
  const ledger = new DynamoLedger({ client, tableName });
  await seed(ledger);
  writes = [];
  return {
    ledger: cachedReads(ledger),
    takeWrites: () => {
      const out = writes;
      writes = [];
      return out;
    },
    snapshot: async () => {
      const items: string[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.client.send(new ScanCommand({ TableName: tableName, ...(start && { ExclusiveStartKey: start as never }) }));
        items.push(...(page.Items ?? []).map((i) => JSON.stringify(i)));
        start = page.LastEvaluatedKey;
      } while (start);
      return items.sort();
    },
  };
}

async function seed(ledger: DynamoLedger): Promise<void> {
  const record = { registryId: "prod-ecr", host: "h", kind: "ecr" as const, sourceType: "ecr-token" as const, secretArn: SECRET_ARN };
  const version = (versionId: string, minutes: number) => ({
    registryId: "prod-ecr", secretArn: SECRET_ARN, versionId, fingerprint: "hmac-sha256:ab", createdAt: new Date(AT.getTime() + minutes * 60_000),
    expiresAt: new Date(AT.getTime() + (minutes + 720) * 60_000), verification: { status: "ok" as const, detail: "200", checkedAt: AT },
  });
  await ledger.recordCurrentVersion(record, version("v1", 0));
  await ledger.recordCurrentVersion(record, version("v2", 60));
  for (let i = 1; i <= 5; i++) await ledger.appendHistory({ type: "rotated", registryId: "prod-ecr", at: new Date(AT.getTime() + i * 1000), secretArn: SECRET_ARN, versionId: `v${i}` });
  const env = (id: string, verdict: "current" | "stale", held: string) => ({
    id, registryId: "prod-ecr", consumerId: "pods", externalId: `task/${id}`, kind: "ecs-task", name: id, startedAt: AT, status: "RUNNING",
    verdict, heldVersionId: held, verdictSince: AT, reason: "seeded", firstSeenAt: AT, lastSeenAt: AT,
  });
  await ledger.putEnvironment(env("pods.old", "stale", "v1"));
  await ledger.putEnvironment(env("pods.new", "current", "v2"));
  await ledger.putEnvironment(env("pods.mid", "stale", "v1"));
  await ledger.recordDiscovery({ registryId: "prod-ecr", consumerId: "pods", at: AT, ok: true, environments: 3 });
}

/** Only these are remembered; every other method goes to DynamoDB each time and forgets what was remembered. */
const READS = new Set(["registryState", "auditSummary", "revocationStatus", "version", "consumerDelivery", "consumerDeliveries", "deliveryHistory", "discoveries", "undeclaredConsumers", "environments", "environment", "history"]);

/**
 * The same read with the same arguments answers from memory until anything else is called: the
 * fuzz sends thousands of requests that differ above the ledger, and dynalite would otherwise take
 * most of the suite's time. A read with new arguments (a forged cursor, an odd id) still reaches
 * DynamoDB, and so does every write, which the client counts.
 */
function cachedReads(ledger: DynamoLedger): DynamoLedger {
  const memory = new Map<string, Promise<unknown>>();
  return new Proxy(ledger, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const call = () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (typeof name !== "string" || !READS.has(name)) {
          memory.clear();
          return call();
        }
        const key = `${name}:${JSON.stringify(args)}`;
        const known = memory.get(key);
        if (known) return known;
        const answer = call();
        memory.set(key, answer);
        answer.catch(() => memory.delete(key));
        return answer;
      };
    },
  });
}
