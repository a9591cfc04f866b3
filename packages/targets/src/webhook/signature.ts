import { createHmac, timingSafeEqual } from "node:crypto";

export const WEBHOOK_TIMESTAMP_HEADER = "Pullkeeper-Timestamp";
export const WEBHOOK_SIGNATURE_HEADER = "Pullkeeper-Signature";
export const WEBHOOK_DELIVERY_ID_HEADER = "Pullkeeper-Delivery-Id";
export const WEBHOOK_SIGNATURE_SCHEME = "v1";
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/** Hex HMAC-SHA256 of `${timestamp}.${body}` under `key`: the part after `v1=`. */
export function computeWebhookSignature(key: string, timestamp: string | number, body: string): string {
  return createHmac("sha256", key).update(`${timestamp}.${body}`, "utf8").digest("hex");
}

/** The `Pullkeeper-Signature` header value for one key. */
export function webhookSignatureHeader(key: string, timestamp: string | number, body: string): string {
  return `${WEBHOOK_SIGNATURE_SCHEME}=${computeWebhookSignature(key, timestamp, body)}`;
}

export interface VerifyWebhookSignatureInput {
  /** The raw request body, exactly as received (before any JSON parsing). */
  readonly body: string | Uint8Array;
  /** The `Pullkeeper-Timestamp` header: unix seconds. */
  readonly timestamp: string | null | undefined;
  /** The `Pullkeeper-Signature` header: `v1=<hex>`, possibly several, comma-separated. */
  readonly signature: string | null | undefined;
  /** Every key currently accepted (during a rotation: the new one and the old one). */
  readonly keys: readonly string[];
  /** How far the timestamp may be from now, either way. Default 300 s. */
  readonly toleranceSeconds?: number;
  /** Now, for tests; default Date.now(). Milliseconds or a Date. */
  readonly now?: number | Date;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Receiver side: true when one `v1=` signature in the header matches one of `keys` over
 * `${timestamp}.${body}`, compared in constant time, and the timestamp is within the tolerance.
 * Anything malformed is simply false.
 */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): boolean {
  const { timestamp, signature, keys } = input;
  const tolerance = input.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (typeof timestamp !== "string" || !/^\d{1,12}$/.test(timestamp.trim())) return false;
  if (typeof signature !== "string" || keys.length === 0) return false;
  const nowMs = input.now === undefined ? Date.now() : input.now instanceof Date ? input.now.getTime() : input.now;
  const ts = Number(timestamp.trim());
  if (!Number.isFinite(tolerance) || tolerance < 0 || Math.abs(nowMs / 1000 - ts) > tolerance) return false;

  const candidates = signature
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${WEBHOOK_SIGNATURE_SCHEME}=`))
    .map((part) => part.slice(WEBHOOK_SIGNATURE_SCHEME.length + 1).toLowerCase())
    .filter((hex) => HEX_SHA256.test(hex))
    .map((hex) => Buffer.from(hex, "hex"));
  if (candidates.length === 0) return false;

  const body = typeof input.body === "string" ? Buffer.from(input.body, "utf8") : Buffer.from(input.body);
  let ok = false;
  for (const key of keys) {
    if (key === "") continue;
    const expected = createHmac("sha256", key).update(`${timestamp.trim()}.`, "utf8").update(body).digest();
    for (const candidate of candidates) {
      // Every pair is compared, so the time taken does not tell which key or candidate matched.
      if (timingSafeEqual(expected, candidate)) ok = true;
    }
  }
  return ok;
}
