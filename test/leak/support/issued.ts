import { readFile } from "node:fs/promises";
import { EncryptedFileStore } from "../../../packages/local/src/vault/encrypted-file-store.js";

/**
 * Every credential value the run issued or used, with where it was seen. Values are added from
 * what consumers and registries received and from the vault's own documents, read after each
 * step, so a version the vault later prunes is still searched for.
 */

/** Where a value may legitimately be: its own vault, a consumer's copy, the provider it authenticates to. */
export type ValueKind = "registry-login" | "provider-token" | "admin-token" | "stored-secret";

export interface Issued {
  readonly value: string;
  readonly username?: string;
  readonly kind: ValueKind;
  readonly seenIn: Set<string>;
}

export class IssuedValues {
  readonly #byValue = new Map<string, Issued>();

  add(value: string, kind: ValueKind, seenIn: string, username?: string): void {
    if (value === "") return;
    const known = this.#byValue.get(value);
    if (known) {
      known.seenIn.add(seenIn);
      return;
    }
    this.#byValue.set(value, { value, kind, seenIn: new Set([seenIn]), ...(username !== undefined && { username }) });
  }

  get all(): Issued[] {
    return [...this.#byValue.values()];
  }

  has(value: string): boolean {
    return this.#byValue.has(value);
  }

  /**
   * Every version of every secret in the vault now, decrypted with the vault's key: what a read
   * through the Vault port would not show once a version is pruned, or has no label.
   */
  async fromVault(vaultDir: string, kindOf: (secretName: string) => ValueKind): Promise<number> {
    let versions = 0;
    for await (const file of new EncryptedFileStore(vaultDir).entries()) {
      const doc = JSON.parse(file.plaintext.toString("utf8")) as { name: string; versions: { id: string; value?: string }[] };
      for (const version of doc.versions) {
        if (version.value === undefined) continue;
        versions++;
        const { username, password } = JSON.parse(version.value) as { username: string; password: string };
        this.add(password, kindOf(doc.name), `vault ${doc.name} ${version.id}`, username);
      }
    }
    return versions;
  }

  /** The login a docker config file holds for `host` (what that consumer received). */
  async fromDockerConfig(path: string, host: string, kind: ValueKind, seenIn: string): Promise<void> {
    const doc = JSON.parse(await readFile(path, "utf8")) as { auths: Record<string, { auth?: string }> };
    const [username = "", password = ""] = Buffer.from(doc.auths[host]?.auth ?? "", "base64").toString("utf8").split(/:(.*)/s);
    this.add(password, kind, seenIn, username);
  }
}
