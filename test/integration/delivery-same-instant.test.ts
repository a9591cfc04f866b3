import { DynamoLedger, DynamoRateLimiter } from "@pullkeeper/aws";
import { credential, type DeliveryRequest, type DeliveryTarget, PropagationService, type StoredCredential, type Vault } from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalDeliveryQueue } from "../../packages/local/src/queue/local-delivery-queue.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";

/**
 * Issue 11, defect 7: Secrets Manager CreatedDate has limited precision (other implementations
 * keep whole seconds), so a new version can carry the same timestamp as the one before. It must
 * still reach every consumer, and reconcile must not leave it behind: the vault's AWSCURRENT is
 * the tie-breaker, since only the current version is ever planned and sent.
 */

let dynamo: EmbeddedDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

const SAME_SECOND = new Date("2026-11-23T12:00:00.000Z");
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hub-AbCdEf";

describe("two versions created in the same second (defect 7)", () => {
  it("the newer AWSCURRENT is delivered to every consumer, and a reconcile afterwards finds nothing behind", async () => {
    const table = await dynamo.createLedgerTable();
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: table });
    let current = "v1";
    const versions: Record<string, StoredCredential> = Object.fromEntries(
      ["v1", "v2"].map((v) => [v, { arn: ARN, versionId: v, stages: [], createdAt: SAME_SECOND, credential: credential("robot", `password-${v}`) }]),
    );
    const vault = {
      read: async (_id: string, which: { stage?: string; versionId?: string }) => {
        const v = versions[which.versionId ?? current] as StoredCredential;
        return { ...v, stages: v.versionId === current ? ["AWSCURRENT"] : ["AWSPREVIOUS"] };
      },
    } as unknown as Vault;
    const received: { consumerId: string; versionId: string }[] = [];
    const target: DeliveryTarget = {
      kind: "t",
      schema: undefined as never,
      provider: () => "p",
      deliver: async (c) => (received.push({ consumerId: c.consumer.id, versionId: c.versionId }), { status: "delivered", detail: "ok" }),
    };
    const services: PropagationService[] = [];
    const queue = new LocalDeliveryQueue({ handle: async (r: DeliveryRequest) => void (await services[0]?.deliver(r)) });
    const service = new PropagationService({
      registries: [{ id: "hub", host: "registry-1.docker.io", kind: "dockerhub", source: { type: "managed-secret" }, secret: "hub", verify: {} }],
      consumers: ["a", "b"].map((id) => ({ id, registryId: "hub", target: { kind: "t" } })),
      targets: new Map([["t", target]]),
      vault,
      ledger,
      queue,
      bus: { publish: async () => undefined },
      rateLimiter: new DynamoRateLimiter({ client: dynamo.client, tableName: table, limits: {} }),
      clock: { now: () => new Date() },
    });
    services.push(service);
    try {
      expect(await service.propagate("hub")).toMatchObject({ versionId: "v1", requested: 2 });
      await queue.drain();
      current = "v2";
      expect(await service.propagate("hub")).toMatchObject({ versionId: "v2", requested: 2 });
      await queue.drain();
      expect(received.filter((r) => r.versionId === "v2").map((r) => r.consumerId).sort()).toEqual(["a", "b"]);
      for (const id of ["a", "b"]) expect(await ledger.consumerDelivery("hub", id)).toMatchObject({ state: "delivered", versionId: "v2", deliveredVersionId: "v2" });
      expect(await service.reconcile()).toEqual([expect.objectContaining({ registryId: "hub", versionId: "v2", requested: 0, reason: "all 2 consumers already hold version v2" })]);
    } finally {
      await queue.stop();
    }
  });
});
