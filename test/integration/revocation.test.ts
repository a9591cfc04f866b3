import { DynamoLedger, HmacFingerprinter } from "@pullkeeper/aws";
import { type Consumer, credential, type CredentialRevoker, type DeliveryRequest, type PullkeeperEvent, type Registry, RevocationService, type StoredCredential } from "@pullkeeper/core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";

/**
 * The revocation rule against the real ledger (dynalite): the previous credential goes only when
 * every consumer holds the current one and a scan after that found nothing running on the old one,
 * or at the maximum overlap; a crash between revoking and recording revokes once and announces once.
 */

let dynamo: EmbeddedDynamo;
let dir: string;
beforeAll(async () => {
  dynamo = await startDynalite();
  dir = await mkdtemp(join(tmpdir(), "pullkeeper-revocation-"));
});
afterAll(async () => {
  await dynamo.stop();
  await rm(dir, { recursive: true, force: true });
});

const T0 = new Date("2026-12-01T10:00:00Z");
const registry: Registry = { id: "reg", host: "registry.example.test", kind: "generic", source: { type: "htpasswd", file: "/dev/null", users: ["blue", "green"], rotation: "rate(1 day)" }, secret: "pullkeeper/reg", revoke: { afterSeconds: 3600, whenInUse: "wait" }, verify: {} };
const consumers: Consumer[] = [
  { id: "pods", registryId: "reg", target: { kind: "kubernetes-secret" } },
  { id: "hook", registryId: "reg", target: { kind: "webhook" } },
];

let now: Date;
let ledger: DynamoLedger;
let vault: LocalVault;
let events: PullkeeperEvent[];
let revoked: string[];
let failRecordOnce: boolean;
let current: StoredCredential;
let previous: StoredCredential;

beforeEach(async () => {
  now = new Date(T0.getTime() + 60_000);
  ledger = new DynamoLedger({ client: dynamo.client, tableName: await dynamo.createLedgerTable() });
  vault = new LocalVault({ dir: await mkdtemp(join(dir, "vault-")) });
  events = [];
  revoked = [];
  failRecordOnce = false;
  await vault.createSecret(registry.secret);
  await vault.stagePending(registry.secret, credential("blue", "blue-password-1"), "00000000-0000-4000-8000-000000000001");
  await vault.promote(registry.secret, "00000000-0000-4000-8000-000000000001");
  await vault.stagePending(registry.secret, credential("green", "green-password-2"), "00000000-0000-4000-8000-000000000002");
  await vault.promote(registry.secret, "00000000-0000-4000-8000-000000000002");
  current = await vault.read(registry.secret, { stage: "AWSCURRENT" });
  previous = await vault.read(registry.secret, { stage: "AWSPREVIOUS" });
  const record = { registryId: "reg", host: registry.host, kind: registry.kind, sourceType: registry.source.type, secretArn: current.arn };
  const version = (s: StoredCredential, promotedAt: Date) => ({ registryId: "reg", secretArn: s.arn, versionId: s.versionId, fingerprint: `fp-${s.versionId}`, createdAt: promotedAt, promotedAt, verification: { status: "ok" as const, detail: "ok", checkedAt: promotedAt } });
  await ledger.recordCurrentVersion(record, version(previous, new Date(T0.getTime() - 86_400_000)));
  await ledger.recordCurrentVersion(record, version(current, T0));
});

const revoker: CredentialRevoker = {
  revoke: async (old) => {
    revoked.push(old.versionId);
  },
};
function service() {
  const flaky = new Proxy(ledger, {
    get(target, prop, receiver) {
      if (prop === "recordRevoked" && failRecordOnce) {
        return async () => {
          failRecordOnce = false;
          throw new Error("simulated crash after the revocation, before the ledger heard of it");
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return new RevocationService({
    registries: [registry],
    consumers,
    targets: new Map([["kubernetes-secret", { discoverEnvironments: async () => [] }], ["webhook", {}]]),
    vault,
    ledger: flaky,
    bus: { publish: async (e) => void events.push(...e) },
    fingerprints: new HmacFingerprinter(Buffer.alloc(32, 7)),
    clock: { now: () => now },
    revoker: () => revoker,
  });
}

const request = (consumerId: string): DeliveryRequest => ({ consumerId, registryId: "reg", secretArn: current.arn, versionId: current.versionId, versionCreatedAt: current.createdAt });
async function deliver(consumerId: string, at: Date) {
  await ledger.markPending(request(consumerId), at);
  await ledger.recordDelivered(request(consumerId), { status: "delivered", detail: "written" }, at);
}
const scan = (at: Date) => ledger.recordDiscovery({ registryId: "reg", consumerId: "pods", at, ok: true, environments: 0 });
const pod = (held: string) => ({
  id: "pods.abc",
  registryId: "reg",
  consumerId: "pods",
  externalId: "ns/pod-1",
  kind: "kubernetes-pod" as const,
  name: "pod-1",
  startedAt: T0,
  status: "Running",
  verdict: "stale" as const,
  heldVersionId: held,
  verdictSince: T0,
  reason: "started before the delivery",
  firstSeenAt: T0,
  lastSeenAt: now,
});

describe("revocation against the ledger", () => {
  it("waits for every consumer, then for a scan after delivery that finds nothing on the old version; revokes once", async () => {
    expect(await service().check(registry)).toMatchObject({ outcome: "waiting", reason: expect.stringMatching(/^0 of 2 consumers/) });
    expect(await ledger.revocationStatus("reg")).toMatchObject({ versionId: previous.versionId, state: "waiting" });

    await deliver("pods", new Date(T0.getTime() + 10_000));
    await deliver("hook", new Date(T0.getTime() + 20_000));
    expect(await service().check(registry)).toMatchObject({ outcome: "waiting", reason: expect.stringMatching(/no audit scan has looked at pods/) });

    await scan(new Date(T0.getTime() + 30_000));
    await ledger.putEnvironment(pod(previous.versionId));
    expect(await service().check(registry)).toMatchObject({ outcome: "waiting", reason: "1 running environment(s) of pods still hold the previous version" });
    expect(revoked).toEqual([]);

    await ledger.removeEnvironment("reg", "pods.abc");
    await scan(new Date(T0.getTime() + 40_000));
    expect(await service().check(registry)).toMatchObject({ outcome: "revoked", reason: "unused", versionId: previous.versionId });
    expect(revoked).toEqual([previous.versionId]);
    expect(await service().check(registry)).toMatchObject({ outcome: "nothing" });
    expect(revoked).toEqual([previous.versionId]);
    expect(events).toEqual([{ type: "Credential Revoked", detail: { registryId: "reg", secretArn: previous.arn, versionId: previous.versionId, reason: "unused", currentVersionId: current.versionId } }]);
    expect((await ledger.version("reg", previous.versionId))?.revoked).toMatchObject({ reason: "unused" });
    expect(await ledger.revocationStatus("reg")).toMatchObject({ state: "revoked" });
    expect(JSON.stringify(events)).not.toContain("blue-password-1");
  });

  it("ends the overlap at revoke.after even while something still holds the old credential", async () => {
    await ledger.putEnvironment(pod(previous.versionId));
    now = new Date(T0.getTime() + 3600_000 - 1);
    expect(await service().check(registry)).toMatchObject({ outcome: "waiting", overlapEndsAt: new Date(T0.getTime() + 3600_000) });
    now = new Date(T0.getTime() + 3600_000);
    expect(await service().check(registry)).toMatchObject({ outcome: "revoked", reason: "max-overlap" });
  });

  it("a crash between revoking and recording leads to exactly one revocation record and one event", async () => {
    now = new Date(T0.getTime() + 7200_000);
    failRecordOnce = true;
    await expect(service().check(registry)).rejects.toThrow(/simulated crash/);
    expect(revoked).toEqual([previous.versionId]);
    expect(events).toEqual([]);
    // The lock was released on the way out: the next run goes ahead at once.
    expect(await service().check(registry)).toMatchObject({ outcome: "revoked" });
    expect(await service().check(registry)).toMatchObject({ outcome: "nothing" });
    expect(events.filter((e) => e.type === "Credential Revoked")).toHaveLength(1);
    const history = await ledger.history("reg", { limit: 100 });
    expect(history.items.filter((h) => h.type === "revoked")).toHaveLength(1);
  });

  it("holds off while a rotation holds the registry's lock", async () => {
    now = new Date(T0.getTime() + 7200_000);
    expect(await ledger.acquireLock("reg", "rotation-token", new Date(now.getTime() + 60_000), now)).toBe(true);
    await expect(service().check(registry)).rejects.toMatchObject({ code: "rotation_in_progress" });
    expect(revoked).toEqual([]);
    await ledger.releaseLock("reg", "rotation-token");
    expect(await service().check(registry)).toMatchObject({ outcome: "revoked" });
  });
});
