import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { CONSUMER_IDS, registry, type World } from "./world.js";

/**
 * The whole end state of a world, normalised so two runs of the same story compare equal when
 * they end in the same place: every ledger item (history included), the vault's versions and
 * labels, what each consumer holds, what the provider accepts and what was revoked, and the
 * events. Instants and the per-run ARN suffix are replaced (a delayed run ends later, not
 * elsewhere); random history keys and lock owners are replaced by what they stand for.
 */
export interface StateSnapshot {
  readonly ledger: readonly unknown[];
  readonly vault: Readonly<Record<string, readonly string[]>>;
  readonly consumers: Readonly<Record<string, string | undefined>>;
  /** How many writes of each version each consumer received: a duplicate delivery shows here. */
  readonly writes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly providerAccepts: readonly string[];
  readonly revokedVersions: readonly string[];
  readonly events: readonly unknown[];
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const EMBEDDED_ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;
// Random keys (history, index sort keys); the scenarios' own VersionIds all start with zeros.
const RANDOM_UUID = /\b(?!00000000-)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
const TIME_KEYS = /(At|Ms|^at|^time|^ttl|^updated)$/;

function normalise(value: unknown, arn: string, key = ""): unknown {
  if (typeof value === "string") {
    if (ISO.test(value)) return "<time>";
    return value
      .split(arn)
      .join("<arn>")
      .replace(/^(HIST#).*$/, "$1<n>")
      .replace(EMBEDDED_ISO, "<time>")
      .replace(RANDOM_UUID, "<uuid>");
  }
  if (typeof value === "number" && TIME_KEYS.test(key)) return "<time>";
  if (value instanceof Date) return "<time>";
  if (Array.isArray(value)) return value.map((v) => normalise(v, arn));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k]) => k !== "owner" && k !== "until")
      .map(([k, v]) => [k, TIME_KEYS.test(k) && (typeof v === "number" || typeof v === "string") ? "<time>" : normalise(v, arn, k)] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    return Object.fromEntries(entries);
  }
  return value;
}

/** Every item of the ledger table, raw (not through the ledger's own readers). */
export async function ledgerItems(world: World): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await world.dynamo.client.send(new ScanCommand({ TableName: world.tableName, ConsistentRead: true, ...(start && { ExclusiveStartKey: start as never }) }));
    items.push(...(out.Items ?? []).map((i) => unmarshall(i)));
    start = out.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start !== undefined);
  return items;
}

export async function snapshot(world: World): Promise<StateSnapshot> {
  const description = await new LocalVault({ dir: world.vaultDir, clock: world.clock }).describe(registry.secret);
  const arn = description.arn;
  const items = (await ledgerItems(world)).map((i) => normalise(i, arn));
  // History items have random keys: order them by what they say, not by key.
  const ledger = items.map((i) => JSON.stringify(i)).sort();
  const consumers = Object.fromEntries(CONSUMER_IDS.map((id) => [id, world.stores.holds(id)?.versionId]));
  const writes: Record<string, Record<string, number>> = {};
  for (const w of world.stores.writes) (writes[w.consumerId] ??= {})[w.versionId] = (writes[w.consumerId]?.[w.versionId] ?? 0) + 1;
  return {
    ledger: ledger.map((s) => JSON.parse(s) as unknown),
    vault: Object.fromEntries(Object.entries(description.versions).map(([v, stages]) => [v, [...stages].sort()]).sort(([a], [b]) => String(a).localeCompare(String(b)))),
    consumers,
    writes,
    providerAccepts: [...world.provider.valid.keys()].sort(),
    revokedVersions: [...new Set(world.provider.revokeCalls)].sort(),
    events: world.bus.map((b) => normalise(b.event, arn)).map((e) => JSON.stringify(e)).sort().map((s) => JSON.parse(s) as unknown),
  };
}
