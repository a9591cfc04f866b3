import { NotFoundError } from "../model/errors.js";
import type { StoredCredential, Vault } from "../model/ports.js";

/** A version or stage of a secret, or undefined where the vault has none (any other failure is thrown). */
export async function readIfPresent(vault: Vault, secretId: string, selector: Parameters<Vault["read"]>[1]): Promise<StoredCredential | undefined> {
  try {
    return await vault.read(secretId, selector);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}
