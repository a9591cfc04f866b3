import { DynamoLedger, HmacFingerprinter } from "@pullkeeper/aws";
import {
  type Clock,
  type Consumer,
  credential,
  type CredentialIssuer,
  type CredentialRevoker,
  type DeliveryQueue,
  type DeliveryRequest,
  type DeliveryTarget,
  type EventBus,
  LedgerRepair,
  PropagationService,
  type PullkeeperEvent,
  type RateLimiter,
  type RegistryVerifier,
  RevocationService,
  type RotatedRegistry,
  RotationService,
  type Vault,
} from "@pullkeeper/core";
import { BatchWriteItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { cp, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import type { EmbeddedDynamo } from "../support/dynalite.js";

/**
 * One registry's whole life in one process, over state that survives a "restart": dynalite holds
 * the ledger, a LocalVault directory holds the secret, and the provider, the consumers, the event
 * bus and the queue are durable fakes (what EventBridge, SQS and the outside world keep when a
 * Lambda container dies). Services are rebuilt from scratch for each "container", so a test can
 * throw away everything in memory and go on from what was written.
 */

export const T0 = new Date("2026-12-01T10:00:00Z");
export const CONSUMER_IDS = ["alpha", "beta", "gamma"] as const;

// A token source without slots (like GitLab or Docker Hub tokens): every version is its own token
// at the provider, so a superseded one stays valid until revoked.
export const registry: RotatedRegistry = {
  id: "reg",
  host: "registry.example.test",
  kind: "generic",
  source: { type: "htpasswd", file: "/dev/null", users: ["unused-a", "unused-b"], rotation: "rate(1 day)" },
  secret: "pullkeeper/crash-reg",
  revoke: { afterSeconds: 86_400, whenInUse: "wait" },
  verify: {},
} as RotatedRegistry;

export const consumers: Consumer[] = CONSUMER_IDS.map((id) => ({ id, registryId: registry.id, target: { kind: "counting" } }));

/** The registry's provider: the tokens it accepts, keyed by the rotation's VersionId (a retried issue finds what it made). */
export class FakeProvider {
  readonly valid = new Map<string, string>();
  readonly revokeCalls: string[] = [];
  issue(versionId: string): ReturnType<typeof credential> {
    const password = `pw-${versionId}`;
    this.valid.set(`tok-${versionId}`, password);
    return credential(`tok-${versionId}`, password);
  }
}

/** Every write each consumer received, in order: what a consumer holds is its last. */
export class ConsumerStores {
  readonly writes: { consumerId: string; versionId: string; password: string }[] = [];
  holds(consumerId: string) {
    return this.writes.filter((w) => w.consumerId === consumerId).at(-1);
  }
  count(consumerId: string, versionId: string): number {
    return this.writes.filter((w) => w.consumerId === consumerId && w.versionId === versionId).length;
  }
}

/** A queued message as SQS keeps it until a handler finishes with it. */
export interface QueuedMessage {
  readonly id: number;
  readonly request: DeliveryRequest;
}

/** What outlives a process: the durable state and the outside world. */
export interface World {
  readonly dynamo: EmbeddedDynamo;
  readonly tableName: string;
  readonly vaultDir: string;
  readonly time: { ms: number };
  readonly clock: Clock;
  readonly provider: FakeProvider;
  readonly stores: ConsumerStores;
  /** Published events; `handled` once their handler returned (EventBridge retries the others). */
  readonly bus: { event: PullkeeperEvent; handled: boolean }[];
  readonly queue: QueuedMessage[];
  tokens: number;
  messages: number;
}

export async function newWorld(dynamo: EmbeddedDynamo, dir: string): Promise<World> {
  const time = { ms: T0.getTime() };
  const world: World = {
    dynamo,
    tableName: await dynamo.createLedgerTable(),
    vaultDir: await mkdtemp(join(dir, "vault-")),
    time,
    clock: { now: () => new Date(time.ms) },
    provider: new FakeProvider(),
    stores: new ConsumerStores(),
    bus: [],
    queue: [],
    tokens: 0,
    messages: 0,
  };
  await new LocalVault({ dir: world.vaultDir, clock: world.clock }).createSecret(registry.secret);
  return world;
}

/**
 * A copy of a world at rest (nothing in flight): its own table and vault directory with the same
 * content, copies of the fakes. Cheaper than replaying how the original got there.
 */
export async function cloneWorld(from: World, dir: string): Promise<World> {
  const tableName = await from.dynamo.createLedgerTable();
  const { Items = [] } = await from.dynamo.client.send(new ScanCommand({ TableName: from.tableName, ConsistentRead: true }));
  for (let i = 0; i < Items.length; i += 25) {
    await from.dynamo.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: Items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
  const vaultDir = await mkdtemp(join(dir, "vault-"));
  await cp(from.vaultDir, vaultDir, { recursive: true });
  const time = { ms: from.time.ms };
  const provider = new FakeProvider();
  for (const [k, v] of from.provider.valid) provider.valid.set(k, v);
  provider.revokeCalls.push(...from.provider.revokeCalls);
  const stores = new ConsumerStores();
  stores.writes.push(...from.stores.writes);
  return {
    dynamo: from.dynamo,
    tableName,
    vaultDir,
    time,
    clock: { now: () => new Date(time.ms) },
    provider,
    stores,
    bus: from.bus.map((b) => ({ ...b })),
    queue: [...from.queue],
    tokens: from.tokens,
    messages: from.messages,
  };
}

/** Secrets Manager's ClientRequestToken, deterministic so two runs of one scenario name versions alike. */
export const nextToken = (world: World): string => `00000000-0000-4000-8000-${String(++world.tokens).padStart(12, "0")}`;

/** The ports one "container" talks to; `wrap` lets a test put a fault or crash in front of each. */
export interface Adapters {
  readonly vault: Vault;
  readonly ledger: DynamoLedger;
  readonly bus: EventBus;
  readonly queue: DeliveryQueue;
  readonly target: DeliveryTarget;
  readonly issuer: CredentialIssuer;
  readonly revoker: CredentialRevoker;
  readonly verifier: RegistryVerifier;
}

export type Wrap = <T extends object>(port: string, adapter: T) => T;

export function adapters(world: World, wrap: Wrap = (_port, a) => a): Adapters {
  const { provider, stores } = world;
  // Time moves a little with every call, so versions and records are ordered as in real life.
  const tick = () => void (world.time.ms += 10);
  const raw: Adapters = {
    vault: new LocalVault({ dir: world.vaultDir, clock: world.clock }),
    ledger: new DynamoLedger({ client: world.dynamo.client, tableName: world.tableName }),
    bus: { publish: async (events) => void world.bus.push(...events.map((event) => ({ event, handled: false }))) },
    queue: { send: async (requests) => void world.queue.push(...requests.map((request) => ({ id: ++world.messages, request }))) },
    target: {
      kind: "counting",
      schema: z.object({ kind: z.string() }),
      provider: () => "counting",
      deliver: async ({ consumer, versionId, credential: value }) => {
        stores.writes.push({ consumerId: consumer.id, versionId, password: value.password.reveal() });
        return { status: "delivered", detail: `wrote ${versionId}` };
      },
    },
    issuer: { issue: async ({ versionId }) => provider.issue(versionId) },
    revoker: {
      revoke: async (previous) => {
        provider.revokeCalls.push(previous.versionId);
        provider.valid.delete(previous.credential.username);
      },
    },
    verifier: {
      verify: async ({ credential: c }) => {
        const ok = provider.valid.get(c.username) === c.password.reveal();
        return { status: ok ? "ok" : "unauthorized", detail: ok ? "GET /v2/ 200" : "GET /v2/ 401", checkedAt: world.clock.now() };
      },
    },
  };
  const ticking = <T extends object>(port: string, a: T): T =>
    wrap(
      port,
      new Proxy(a, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            tick();
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      }),
    );
  return Object.fromEntries(Object.entries(raw).map(([port, a]) => [port, ticking(port, a as object)])) as unknown as Adapters;
}

const noLimits: RateLimiter = { acquire: async () => undefined, pause: async () => undefined, pausedUntil: async () => undefined };

/** The use cases one container builds over its adapters (what the functions' wiring builds on AWS). */
export function services(world: World, ports: Adapters) {
  const fingerprints = new HmacFingerprinter(Buffer.alloc(32, 9));
  const credentialPorts = { vault: ports.vault, verifier: ports.verifier, ledger: ports.ledger, bus: ports.bus, fingerprints, clock: world.clock };
  const repair = new LedgerRepair(credentialPorts);
  const revocation = new RevocationService({
    registries: [registry],
    consumers,
    targets: new Map([["counting", ports.target]]),
    vault: ports.vault,
    ledger: ports.ledger,
    bus: ports.bus,
    fingerprints,
    clock: world.clock,
    revoker: () => ports.revoker,
    repair,
  });
  const rotation = new RotationService({ ...credentialPorts, issuer: () => ports.issuer, revocation, newToken: () => nextToken(world) });
  const propagation = new PropagationService({
    registries: [registry],
    consumers,
    targets: new Map([["counting", ports.target]]),
    vault: ports.vault,
    ledger: ports.ledger,
    queue: ports.queue,
    bus: ports.bus,
    rateLimiter: noLimits,
    clock: world.clock,
    random: () => 0.5,
  });
  return { rotation, propagation, revocation, repair };
}

export type Services = ReturnType<typeof services>;
