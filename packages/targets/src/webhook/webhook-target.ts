import { type Consumer, type Credential, type DeliveryContext, DeliveryError, type DeliveryOutcome, type DeliveryTarget, parseTargetConfig, readTargetSecret, type TargetFactory } from "@pullkeeper/core";
import { type WebhookTargetConfig, webhookTargetSchema } from "./schema.js";
import { WEBHOOK_DELIVERY_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, webhookSignatureHeader } from "./signature.js";

export const WEBHOOK_NOTICE_TYPE = "pullkeeper.credential.changed";

/** What a receiver gets: IDs only, never the credential. */
export interface WebhookNotice {
  readonly type: typeof WEBHOOK_NOTICE_TYPE;
  readonly registryId: string;
  readonly registryHost: string;
  readonly secretArn: string;
  readonly versionId: string;
  readonly consumerId: string;
  /** ISO 8601. */
  readonly sentAt: string;
}

export interface WebhookTargetOptions {
  /** Reads a secret holding {"username","password"}: here the signing secret (password = the HMAC key). */
  readonly readCredential: (secretId: string) => Promise<Credential>;
  readonly fetch?: typeof fetch;
  /** Default budget for one request when the consumer names none. Default 10 s. */
  readonly timeoutMs?: number;
  /** Now, for tests. */
  readonly now?: () => Date;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_TEXT = 200;

/** Retry-After: delta-seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The URL for people and rate-limit buckets: no query string or fragment (they may hold tokens). */
function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * `webhook`: POSTs a signed `pullkeeper.credential.changed` notice. The body is HMAC-SHA256
 * signed over `${timestamp}.${body}` (headers Pullkeeper-Timestamp, Pullkeeper-Signature: v1=<hex>);
 * receivers check it with `verifyWebhookSignature` (docs/webhook-signature.md).
 */
export class WebhookTarget implements DeliveryTarget {
  readonly kind = "webhook";
  readonly schema = webhookTargetSchema;
  readonly #readCredential: (secretId: string) => Promise<Credential>;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #now: () => Date;

  constructor(options: WebhookTargetOptions) {
    this.#readCredential = options.readCredential;
    // Looked up per call rather than captured, so test doubles installed on globalThis apply.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#now = options.now ?? (() => new Date());
  }

  /** `webhook:<host[:port]>`: one bucket per receiving host. */
  provider(consumer: Consumer): string {
    const parsed = this.schema.safeParse(consumer.target);
    if (!parsed.success) return "webhook";
    return `webhook:${new URL(parsed.data.url).host}`;
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target = this.#parse(context.consumer);
    const key = await this.#signingKey(target.signingSecret);
    const url = new URL(target.url);
    const where = displayUrl(url);
    const timeoutMs = target.timeoutMs ?? this.#timeoutMs;
    const now = this.#now();
    const notice: WebhookNotice = {
      type: WEBHOOK_NOTICE_TYPE,
      registryId: context.registry.id,
      registryHost: context.registry.host,
      secretArn: context.secretArn,
      versionId: context.versionId,
      consumerId: context.consumer.id,
      sentAt: now.toISOString(),
    };
    const body = JSON.stringify(notice);
    const timestamp = String(Math.floor(now.getTime() / 1000));
    const secrets = [key, context.credential.password.reveal()];

    let response: Response;
    let text = "";
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      response = await this.#fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "pullkeeper-webhook/1",
          [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
          [WEBHOOK_SIGNATURE_HEADER]: webhookSignatureHeader(key, timestamp, body),
          // The same for every retry of this (consumer, version): receivers may de-duplicate on it.
          [WEBHOOK_DELIVERY_ID_HEADER]: `${context.consumer.id}:${context.versionId}`,
        },
        body,
        // A signed notice goes where it was configured to go, nowhere else.
        redirect: "manual",
        signal,
      });
      text = await response.text().catch(() => "");
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      const reason =
        name === "TimeoutError" || name === "AbortError"
          ? `timed out after ${timeoutMs} ms`
          : `failed: ${this.#redact(error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error), secrets)}`;
      throw new DeliveryError("unavailable", `webhook ${where} ${reason}`, { retryable: true });
    }

    const status = response.status;
    if (status >= 200 && status < 300) {
      return {
        status: "delivered",
        detail: `notified ${where} (HTTP ${status}) of version ${context.versionId} of ${context.secretArn}; signed notice, no credential value in it`,
      };
    }
    const said = text.trim() === "" ? "" : `: ${this.#redact(text.trim().replace(/\s+/g, " "), secrets)}`;
    const what = `webhook ${where} answered HTTP ${status}${said}`;
    if (status === 410 || status === 404) throw new DeliveryError("not_found", `${what} (the receiver is gone; fix or remove the consumer)`, { retryable: false });
    if (status === 401 || status === 403) throw new DeliveryError("unauthorized", `${what} (does the receiver hold the current signing key?)`, { retryable: false });
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), Date.now());
      throw new DeliveryError("throttled", what, retryAfterMs === undefined ? { retryable: true } : { retryable: true, retryAfterMs });
    }
    if (status === 408 || status >= 500) throw new DeliveryError("unavailable", what, { retryable: true });
    if (status >= 300 && status < 400) throw new DeliveryError("invalid_request", `${what} (a redirect; signed notices are not followed: configure the final URL)`, { retryable: false });
    throw new DeliveryError("invalid_request", `${what} (the receiver rejected the notice)`, { retryable: false });
  }

  #parse(consumer: Consumer): WebhookTargetConfig {
    return parseTargetConfig(this.schema, consumer);
  }

  async #signingKey(secretId: string): Promise<string> {
    const key = await readTargetSecret(this.#readCredential, secretId, "webhook signing secret");
    if (key.length < 16) {
      throw new DeliveryError("invalid_credential", `webhook signing secret ${secretId}: the signing key (password field) must be at least 16 characters`, { retryable: false });
    }
    return key;
  }

  #redact(text: string, secrets: readonly string[]): string {
    let out = text;
    for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join("[REDACTED]");
    return out.length > MAX_TEXT ? `${out.slice(0, MAX_TEXT)}…` : out;
  }
}

/** What the module loads (module.ts). */
const createTarget: TargetFactory = ({ readCredential }) => new WebhookTarget({ readCredential });
export default createTarget;
