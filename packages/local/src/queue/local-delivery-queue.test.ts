import type { DeliveryRequest } from "@pullkeeper/core";
import { describe, expect, it } from "vitest";
import { LocalDeliveryQueue } from "./local-delivery-queue.js";

const request = (consumerId: string): DeliveryRequest => ({ consumerId, registryId: "r", secretArn: "arn:aws:secretsmanager:local:0:secret:s", versionId: "v", versionCreatedAt: new Date(0) });

describe("LocalDeliveryQueue", () => {
  it("retries a delivery whose handler throws with backoff, then dead-letters it after the last receive", async () => {
    const attempts: { id: string; number: number }[] = [];
    const queue = new LocalDeliveryQueue({
      maxAttempts: 3,
      baseBackoffMs: 5,
      handle: async (r, a) => {
        attempts.push({ id: r.consumerId, number: a.number });
        if (r.consumerId === "bad" || a.number < 2) throw new Error(`nope ${r.consumerId}`);
      },
    });
    await queue.send([request("ok"), request("bad")]);
    await queue.drain();
    expect(attempts.filter((a) => a.id === "ok").map((a) => a.number)).toEqual([1, 2]);
    expect(attempts.filter((a) => a.id === "bad")).toEqual([
      { id: "bad", number: 1 },
      { id: "bad", number: 2 },
      { id: "bad", number: 3 },
    ]);
    expect(queue.deadLetters).toEqual([expect.objectContaining({ attempts: 3, error: "nope bad", request: request("bad") })]);
  });

  it("holds a delayed send back until its delay is over, without holding the others", async () => {
    const ran: { id: string; at: number }[] = [];
    const queue = new LocalDeliveryQueue({ handle: async (r) => void ran.push({ id: r.consumerId, at: Date.now() }) });
    const sent = Date.now();
    await queue.send([request("later")], { delayMs: 150 });
    await queue.send([request("now")]);
    expect(queue.waiting.map((w) => w.request.consumerId)).toEqual(["later"]);
    expect(queue.waiting[0]?.notBefore.getTime()).toBeGreaterThanOrEqual(sent + 150);
    await queue.drain();
    expect(ran.map((r) => r.id)).toEqual(["now", "later"]);
    expect(ran[1]?.at).toBeGreaterThanOrEqual(sent + 145);
  });

  it("never runs more than `concurrency` deliveries at once", async () => {
    let running = 0;
    let peak = 0;
    const queue = new LocalDeliveryQueue({
      concurrency: 3,
      handle: async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
      },
    });
    await queue.send(Array.from({ length: 20 }, (_, i) => request(`c${i}`)));
    await queue.drain();
    expect(peak).toBe(3);
  });

  it("stops: deliveries in flight finish, nothing new starts, and stop() resolves", async () => {
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new LocalDeliveryQueue({
      concurrency: 1,
      handle: async (r) => {
        started.push(r.consumerId);
        await gate;
      },
    });
    await queue.send([request("first"), request("second")]);
    const stopped = queue.stop();
    release();
    await stopped;
    expect(started).toEqual(["first"]);
    await expect(queue.send([request("late")])).rejects.toThrow(/stopped/);
  });
});
