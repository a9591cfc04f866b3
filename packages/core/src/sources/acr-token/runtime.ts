import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import type { StoredCredential } from "../../model/ports.js";
import type { SourcePorts, SourceRuntime } from "../../model/source-module.js";
import { AcrApi, type AcrPassword, type AcrSlot } from "./api.js";
import type { AcrTokenSource } from "./source.js";

export const ACR_SLOTS: readonly [AcrSlot, AcrSlot] = ["password1", "password2"];

async function session(registry: Registry, ports: SourcePorts): Promise<{ api: AcrApi; source: AcrTokenSource }> {
  const source = registry.source as AcrTokenSource;
  const api = new AcrApi(source, ports.http, () => ports.clock.now().getTime());
  await api.login(await ports.adminCredential(source.admin));
  return { api, source };
}

/**
 * The slot a stored credential's password is in. Both slots log in as the token's name, and ACR
 * never shows a password's value again, so the value cannot be matched: the password is the one
 * whose `creationTime` is nearest the vault version's `createdAt` (each version is written right
 * after its password was generated, and the two slots are regenerated a rotation apart). Undefined
 * when the token has no password at all.
 */
export function slotByTime(passwords: readonly AcrPassword[], stored: Pick<StoredCredential, "createdAt">): AcrSlot | undefined {
  const at = stored.createdAt.getTime();
  let nearest: AcrPassword | undefined;
  for (const p of passwords) if (nearest === undefined || Math.abs(p.creationTime - at) < Math.abs(nearest.creationTime - at)) nearest = p;
  return nearest?.name;
}

/**
 * The token's two passwords take turns (slots). createSecret regenerates the idle slot's password
 * with an expiry `lifetime` ahead (the rotation has first made sure its previous password is
 * revoked); the password is live at once, so there is no setSecret work. A retried createSecret
 * regenerates the same idle slot again, whose earlier value nobody stored.
 *
 * The revocation removes the previous password's slot from the token (Tokens_Update without it in
 * `credentials.passwords`, as `az acr token credential delete` does), so nothing valid is left in
 * it, not even a value nobody knows; never the slot the current password is in.
 */
const runtime: SourceRuntime = {
  issuer: (registry, ports) => {
    // One sign-in for a createSecret's slot lookups and its regenerate (an issuer serves one step); a failed one is not kept.
    let signedIn: ReturnType<typeof session> | undefined;
    const once = (): ReturnType<typeof session> =>
      (signedIn ??= session(registry, ports).catch((error: unknown) => {
        signedIn = undefined;
        throw error;
      }));
    return {
      slots: ACR_SLOTS,
      slotOf: async (stored) => slotByTime(await (await once()).api.passwords(), stored),
      issue: async ({ slot }) => {
        const { api, source } = await once();
        return credential(source.token, await api.generate(slot === "password2" ? "password2" : "password1"));
      },
    };
  },
  revoker: (registry, ports) => ({
    revoke: async (previous, current) => {
      const { api } = await session(registry, ports);
      const passwords = await api.passwords();
      const gone = slotByTime(passwords, previous);
      const kept = slotByTime(passwords, current);
      // The same slot: the regenerate that made the current password already replaced the previous one.
      if (gone === undefined || kept === undefined || gone === kept) return;
      await api.keepOnly(passwords.map((p) => p.name).filter((name) => name !== gone));
    },
  }),
};
export default runtime;
