import { type DeliveryContext, type DeliveryOutcome, type DeliveryTarget, DeliveryError, type Consumer } from "@pullkeeper/core";
import type { ServerResponse } from "node:http";
import { z } from "zod";
import { type LocalServer, type Received, startServer } from "./http.js";

/**
 * A provider outside AWS, as a loopback HTTP server that misbehaves on purpose, chosen by the
 * consumer id's prefix: flaky- (503 twice), throttled- (429 with Retry-After once), hang- (no
 * answer once), slow- (answers after `slowMs`), broken- (always 500), denied- (401). Anything
 * else answers 204. It records every request and every value it accepted.
 */
export interface Receipt {
  readonly consumerId: string;
  readonly versionId: string;
  readonly password: string;
  readonly at: number;
}

export class FakeProvider {
  readonly receipts: Receipt[] = [];
  readonly requests: { consumerId: string; at: number }[] = [];
  #seen = new Map<string, number>();
  server!: LocalServer;

  constructor(readonly options: { latencyMs?: number; slowMs?: number } = {}) {}

  async start(): Promise<this> {
    this.server = await startServer((req, res) => this.#answer(req, res));
    return this;
  }

  async #answer(req: Received, res: ServerResponse): Promise<void> {
    const body = JSON.parse(req.body) as { consumerId: string; versionId: string; password: string };
    const n = (this.#seen.get(body.consumerId) ?? 0) + 1;
    this.#seen.set(body.consumerId, n);
    this.requests.push({ consumerId: body.consumerId, at: Date.now() });
    const id = body.consumerId;
    if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    const reply = (status: number, headers: Record<string, string> = {}) => {
      res.writeHead(status, headers);
      res.end();
    };
    if (id.startsWith("denied-")) return reply(401);
    if (id.startsWith("broken-")) return reply(500);
    if (id.startsWith("flaky-") && n <= 2) return reply(503);
    if (id.startsWith("throttled-") && n === 1) return reply(429, { "retry-after": "1" });
    if (id.startsWith("hang-") && n === 1) return; // never answers; the client times out
    if (id.startsWith("slow-")) await new Promise((r) => setTimeout(r, this.options.slowMs ?? 200));
    this.receipts.push({ consumerId: id, versionId: body.versionId, password: body.password, at: Date.now() });
    reply(204);
  }
}

const schema = z.strictObject({ kind: z.literal("test-provider"), url: z.url(), provider: z.string().default("fake") });

/** The delivery target for FakeProvider: PUTs the value, classifies the answer like a real target. */
export class FakeProviderTarget implements DeliveryTarget {
  readonly kind = "test-provider";
  readonly schema = schema;

  constructor(readonly timeoutMs = 500) {}

  provider(consumer: Consumer): string {
    return String(consumer.target.provider ?? "fake");
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    let response: Response;
    try {
      response = await fetch(String(context.consumer.target.url), {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ consumerId: context.consumer.id, versionId: context.versionId, password: context.credential.password.reveal() }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new DeliveryError("timeout", `provider did not answer within ${this.timeoutMs} ms`, { retryable: true, cause: error });
    }
    if (response.ok) return { status: "delivered", detail: `HTTP ${response.status}` };
    if (response.status === 401 || response.status === 403) throw new DeliveryError("unauthorized", `provider refused our token (HTTP ${response.status})`, { retryable: false });
    if (response.status === 429) {
      throw new DeliveryError("throttled", "provider said slow down", { retryable: true, retryAfterMs: Number(response.headers.get("retry-after") ?? 1) * 1000 });
    }
    throw new DeliveryError("unavailable", `provider answered HTTP ${response.status}`, { retryable: true });
  }
}
