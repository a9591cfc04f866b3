import { createHmac, randomBytes } from "node:crypto";
import type { Credential, Fingerprinter } from "@pullkeeper/core";

/**
 * HMAC-SHA256 under a key only pullkeeper holds: the ledger can tell two versions apart and a
 * retry can reuse its request token, yet nobody can test a guessed password against either.
 */
export class HmacFingerprinter implements Fingerprinter {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error("the fingerprint key must be at least 32 bytes");
    this.#key = key;
  }

  fingerprint(value: Credential): string {
    return `hmac-sha256:${this.#mac("fingerprint", value.username, value.password.reveal()).slice(0, 32)}`;
  }

  /** UUID-shaped (36 chars): Secrets Manager wants 32–64 and shows it as the VersionId. */
  requestToken(secretId: string, value: Credential): string {
    const hex = this.#mac("request-token", secretId, value.username, value.password.reveal());
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  #mac(purpose: string, ...parts: string[]): string {
    // NUL separators keep ("ab","c") and ("a","bc") apart.
    return createHmac("sha256", this.#key).update([purpose, ...parts].join("\0")).digest("hex");
  }

  static randomKey(): Buffer {
    return randomBytes(32);
  }
}
