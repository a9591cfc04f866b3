/** GitHub's per-scope libsodium key pairs for secrets: the public key to hand out, and sealed values opened with the private one. */
import sodium from "libsodium-wrappers";

export interface KeyPair {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

export class SealedBoxKeys {
  readonly #keys = new Map<string, KeyPair>();
  #counter = 0;

  /** Resolves once libsodium is loaded. */
  static ready(): Promise<void> {
    return sodium.ready;
  }

  /** The scope's key pair (e.g. "/repos/acme/web/codespaces/secrets"), made on first use. */
  key(collection: string): KeyPair {
    let key = this.#keys.get(collection);
    if (key === undefined) {
      key = this.#newKey();
      this.#keys.set(collection, key);
    }
    return key;
  }

  /** Replaces a scope's key pair. */
  rotate(collection: string): void {
    this.#keys.set(collection, this.#newKey());
  }

  /** The public key as GitHub serves it (standard base64). */
  publicKey(key: KeyPair): string {
    return sodium.to_base64(key.publicKey, sodium.base64_variants.ORIGINAL);
  }

  /** The plaintext of a base64 sealed box; throws when it does not open with `key`. */
  open(key: KeyPair, encrypted: string): string {
    const opened = sodium.crypto_box_seal_open(sodium.from_base64(encrypted, sodium.base64_variants.ORIGINAL), key.publicKey, key.privateKey);
    return sodium.to_string(opened);
  }

  #newKey(): KeyPair {
    const pair = sodium.crypto_box_keypair();
    this.#counter += 1;
    return { keyId: `5687${String(this.#counter).padStart(14, "0")}`, publicKey: pair.publicKey, privateKey: pair.privateKey };
  }
}
