import { deliveryFailure } from "../support/delivery.js";
import type { ServerResponse } from "node:http";
import { type Consumer, credential, type DeliveryContext, DeliveryError, type Registry } from "@pullkeeper/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { webhookTargetSchema } from "../../packages/targets/src/webhook/schema.js";
import { computeWebhookSignature, verifyWebhookSignature, webhookSignatureHeader } from "../../packages/targets/src/webhook/signature.js";
import { type WebhookNotice, WebhookTarget } from "../../packages/targets/src/webhook/webhook-target.js";
import { type LocalServer, type Received, startServer } from "../support/http.js";
import { captureOutput } from "../support/output.js";

const USERNAME = "deploy-bot";
const PASSWORD = "s3cret-Registry-Pa55w0rd-for-webhook";
const KEY = "whsec_current_0123456789abcdefABCDEF";
const OLD_KEY = "whsec_previous_fedcba9876543210FEDCBA";
const VERSION_ID = "b2c3d4e5-6789-01bc-def0-EXAMPLE22222";
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-AbCdEf";
const REGISTRY: Registry = { id: "ghcr", host: "ghcr.io", kind: "ghcr", source: { type: "managed-secret" }, secret: SECRET_ARN, verify: {} };

interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly hang?: boolean;
}

let server: LocalServer;
let replies: Reply[];
let receiverKeys: string[];
let verdicts: boolean[];
let output: string[];
const outcomes: string[] = [];

/** A receiver as the docs tell people to write it: verify first, then read the notice. */
function receive(req: Received, res: ServerResponse): void {
  const ok = verifyWebhookSignature({ body: req.body, timestamp: header(req, "pullkeeper-timestamp"), signature: header(req, "pullkeeper-signature"), keys: receiverKeys });
  verdicts.push(ok);
  const reply = replies.shift();
  if (reply?.hang) return;
  if (reply !== undefined) {
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body ?? "");
    return;
  }
  res.writeHead(ok ? 204 : 401);
  res.end(ok ? "" : "bad signature");
}

function header(req: Received, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function consumer(target: Record<string, unknown> = {}): Consumer {
  return { id: "ci-hook", registryId: "ghcr", target: { kind: "webhook", url: `${server.url}/hooks/pullkeeper?token=q-secret`, signingSecret: "pullkeeper/webhook-key", ...target } };
}

function context(c: Consumer = consumer()): DeliveryContext {
  return { consumer: c, registry: REGISTRY, secretArn: SECRET_ARN, versionId: VERSION_ID, credential: credential(USERNAME, PASSWORD) };
}

function target(key = KEY, timeoutMs = 2_000): WebhookTarget {
  return new WebhookTarget({ timeoutMs, readCredential: async () => credential("webhook", key) });
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const e = await deliveryFailure(promise);
  outcomes.push(e.message, JSON.stringify(e), String(e.stack));
  return e;
}

beforeEach(async () => {
  replies = [];
  receiverKeys = [KEY];
  verdicts = [];
  server = await startServer(receive);
  output = captureOutput({ echo: true });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await server.close();
  for (const text of [...outcomes, output.join(""), ...server.received.map((r) => JSON.stringify(r))]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(KEY);
  }
  outcomes.length = 0;
});

describe("WebhookTarget: a signed notice, never the value", () => {
  it("POSTs the notice, signed so that verifyWebhookSignature accepts it", async () => {
    const before = Math.floor(Date.now() / 1000);
    const outcome = await target().deliver(context());
    outcomes.push(outcome.detail);
    expect(outcome.status).toBe("delivered");
    expect(outcome.detail).toContain(`notified ${server.url}/hooks/pullkeeper (HTTP 204)`);
    expect(outcome.detail).not.toContain("q-secret");
    expect(verdicts).toEqual([true]);

    const [req] = server.received;
    expect(req?.method).toBe("POST");
    expect(req?.url).toBe("/hooks/pullkeeper?token=q-secret");
    expect(req?.headers["content-type"]).toBe("application/json");
    const timestamp = Number(header(req!, "pullkeeper-timestamp"));
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(header(req!, "pullkeeper-signature")).toBe(`v1=${computeWebhookSignature(KEY, timestamp, req!.body)}`);
    expect(header(req!, "pullkeeper-delivery-id")).toBe(`ci-hook:${VERSION_ID}`);

    const notice = JSON.parse(req!.body) as WebhookNotice;
    expect(notice).toEqual({
      type: "pullkeeper.credential.changed",
      registryId: "ghcr",
      registryHost: "ghcr.io",
      secretArn: SECRET_ARN,
      versionId: VERSION_ID,
      consumerId: "ci-hook",
      sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(req!.body).not.toContain(PASSWORD);
    expect(req!.body).not.toContain(USERNAME);
  });

  it("a receiver in the middle of a key rotation accepts the old key and the new one", async () => {
    receiverKeys = [KEY, OLD_KEY];
    await target(OLD_KEY).deliver(context());
    await target(KEY).deliver(context());
    expect(verdicts).toEqual([true, true]);
  });

  it("a receiver that only knows another key rejects: unauthorized, not retryable, one request", async () => {
    receiverKeys = [OLD_KEY];
    const error = await failure(target(KEY).deliver(context()));
    expect(error).toMatchObject({ code: "unauthorized", retryable: false });
    expect(verdicts).toEqual([false]);
    expect(server.received).toHaveLength(1);
  });
});

describe("verifyWebhookSignature", () => {
  const body = JSON.stringify({ type: "pullkeeper.credential.changed", versionId: VERSION_ID });
  const now = 1_767_225_600_000; // 2026-01-01T00:00:00Z
  const ts = String(now / 1000);
  const signature = webhookSignatureHeader(KEY, ts, body);
  const verify = (over: Partial<Parameters<typeof verifyWebhookSignature>[0]> = {}): boolean =>
    verifyWebhookSignature({ body, timestamp: ts, signature, keys: [KEY], now, ...over });

  it("accepts the genuine request, as a string or as bytes, and with a second signature beside it", () => {
    expect(verify()).toBe(true);
    expect(verify({ body: Buffer.from(body) })).toBe(true);
    expect(verify({ signature: `v1=${"0".repeat(64)}, ${signature}` })).toBe(true);
    expect(verify({ now: new Date(now + 299_000) })).toBe(true);
  });

  it("rejects a tampered body", () => {
    expect(verify({ body: body.replace(VERSION_ID, "another-version") })).toBe(false);
    expect(verify({ body: `${body} ` })).toBe(false);
  });

  it("rejects a stale or future timestamp, and a timestamp swapped under the same signature", () => {
    expect(verify({ now: now + 301_000 })).toBe(false);
    expect(verify({ now: now - 301_000 })).toBe(false);
    expect(verify({ now: now + 60_000, toleranceSeconds: 30 })).toBe(false);
    expect(verify({ timestamp: String(now / 1000 + 1), now: now + 1_000 })).toBe(false);
  });

  it("rejects a wrong key, no keys, and malformed headers", () => {
    expect(verify({ keys: [OLD_KEY] })).toBe(false);
    expect(verify({ keys: [] })).toBe(false);
    expect(verify({ keys: [""] })).toBe(false);
    expect(verify({ signature: signature.replace("v1=", "v0=") })).toBe(false);
    expect(verify({ signature: signature.slice(0, -2) })).toBe(false);
    expect(verify({ signature: undefined })).toBe(false);
    expect(verify({ timestamp: "yesterday" })).toBe(false);
    expect(verify({ timestamp: null })).toBe(false);
  });
});

describe("WebhookTarget: failures, classified", () => {
  it("410 Gone: not_found, not retryable", async () => {
    replies.push({ status: 410, body: "hook removed" });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "not_found", retryable: false });
    expect(error.message).toContain("HTTP 410: hook removed");
  });

  it("401 and 403: unauthorized, not retryable", async () => {
    replies.push({ status: 401 }, { status: 403 });
    await expect(failure(target().deliver(context()))).resolves.toMatchObject({ code: "unauthorized", retryable: false });
    await expect(failure(target().deliver(context()))).resolves.toMatchObject({ code: "unauthorized", retryable: false });
  });

  it("500: unavailable, retryable; a receiver echoing the key or the value is redacted", async () => {
    replies.push({ status: 500, body: `boom; key=${KEY}; password=${PASSWORD}` });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(error.message).toContain("[REDACTED]");
  });

  it("429 with Retry-After: throttled with retryAfterMs", async () => {
    replies.push({ status: 429, headers: { "Retry-After": "12" } });
    await expect(failure(target().deliver(context()))).resolves.toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 12_000 });
  });

  it("a receiver that never answers: unavailable, retryable, after timeoutMs", async () => {
    replies.push({ status: 0, hang: true });
    const started = Date.now();
    const error = await failure(target(KEY, 5_000).deliver(context(consumer({ timeoutMs: 300 }))));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(error.message).toContain("timed out after 300 ms");
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("a redirect is not followed", async () => {
    replies.push({ status: 307, headers: { Location: "https://elsewhere.example.com/hook" } });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "invalid_request", retryable: false });
    expect(server.received).toHaveLength(1);
  });

  it("a refused connection: unavailable, retryable", async () => {
    const url = server.url;
    await server.close();
    server = await startServer(receive);
    await expect(failure(target().deliver(context(consumer({ url: `${url}/hook` }))))).resolves.toMatchObject({ code: "unavailable", retryable: true });
  });

  it("a signing key that is too short is refused before sending", async () => {
    const error = await failure(target("short").deliver(context()));
    expect(error).toMatchObject({ code: "invalid_credential", retryable: false });
    expect(server.received).toHaveLength(0);
  });
});

describe("WebhookTarget: config", () => {
  it("allows https anywhere and http only on loopback", () => {
    const base = { kind: "webhook", signingSecret: "s" };
    expect(webhookTargetSchema.safeParse({ ...base, url: "https://hooks.example.com/p" }).success).toBe(true);
    expect(webhookTargetSchema.safeParse({ ...base, url: "http://127.0.0.1:9000/p" }).success).toBe(true);
    expect(webhookTargetSchema.safeParse({ ...base, url: "http://[::1]:9000/p" }).success).toBe(true);
    expect(webhookTargetSchema.safeParse({ ...base, url: "http://hooks.example.com/p" }).success).toBe(false);
    expect(webhookTargetSchema.safeParse({ ...base, url: "https://user:pw@hooks.example.com/p" }).success).toBe(false);
    expect(webhookTargetSchema.safeParse({ ...base, url: "ftp://hooks.example.com/p" }).success).toBe(false);
  });

  it("names its provider after the URL host", () => {
    expect(target().provider(consumer({ url: "https://hooks.example.com:8443/x?y=z" }))).toBe("webhook:hooks.example.com:8443");
    expect(target().kind).toBe("webhook");
  });

  it("reports an invalid target as invalid_target before any request", async () => {
    const error = await failure(target().deliver(context(consumer({ url: "http://hooks.example.com/x" }))));
    expect(error).toMatchObject({ code: "invalid_target", retryable: false });
    expect(server.received).toHaveLength(0);
  });
});
