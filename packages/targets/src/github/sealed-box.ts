import { DeliveryError } from "@pullkeeper/core";

/** libsodium is ~0.4 MB of WebAssembly: loaded on the first seal, so functions that never seal never load it. */
let loaded: Promise<typeof import("libsodium-wrappers")> | undefined;
const libsodium = async () => (await (loaded ??= import("libsodium-wrappers"))).default;

/**
 * Encrypts a secret value for GitHub: a libsodium sealed box (`crypto_box_seal`) to the scope's
 * public key, both in base64 (the original variant, with padding), as GitHub's REST docs show.
 */
export async function sealSecret(value: string, publicKeyBase64: string, where: string): Promise<string> {
  const sodium = await libsodium();
  await sodium.ready;
  let publicKey: Uint8Array;
  try {
    publicKey = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  } catch {
    throw new DeliveryError("invalid_response", `the public key GitHub returned for ${where} is not base64`, { retryable: true });
  }
  if (publicKey.length !== sodium.crypto_box_PUBLICKEYBYTES) {
    throw new DeliveryError("invalid_response", `the public key GitHub returned for ${where} is ${publicKey.length} bytes, not ${sodium.crypto_box_PUBLICKEYBYTES}`, { retryable: true });
  }
  const sealed = sodium.crypto_box_seal(sodium.from_string(value), publicKey);
  return sodium.to_base64(sealed, sodium.base64_variants.ORIGINAL);
}
