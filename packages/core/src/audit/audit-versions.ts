import { versionView } from "./audit-views.js";
import type { Consumer } from "../propagation/delivery.js";
import type { EnvironmentLedger } from "./environment-ledger.js";
import type { CredentialVersion, Registry } from "../model/model.js";
import { allPages } from "./pages.js";
import type { Ledger } from "../model/ports.js";

/**
 * A registry's current and previous versions with their whole life: minted, verified, promoted,
 * delivered to N of M consumers, held by K running environments (as the last scan saw them),
 * superseded, revoked (when, why). What on-call reads before a rollback or while a revocation waits.
 */
export async function versionLifecycles(ledger: Ledger & EnvironmentLedger, registry: Registry, consumers: readonly Consumer[]) {
  const [state, revocation] = await Promise.all([ledger.registryState(registry.id), ledger.revocationStatus(registry.id)]);
  const previous = state?.previousVersionId === undefined ? undefined : await ledger.version(registry.id, state.previousVersionId);
  const mine = consumers.filter((c) => c.registryId === registry.id);
  const deliveries = await allPages((page) => ledger.consumerDeliveries(registry.id, page));
  const environments = await allPages((page) => ledger.environments({ registryId: registry.id }, page));
  const declared = new Set(mine.map((c) => c.id));
  const view = (v: CredentialVersion | undefined, role: "current" | "previous") => {
    if (!v) return null;
    return {
      role,
      ...versionView(v),
      deliveredTo: { consumers: deliveries.filter((d) => declared.has(d.consumerId) && d.deliveredVersionId === v.versionId).length, of: mine.length },
      heldBy: { environments: environments.filter((e) => e.heldVersionId === v.versionId).length },
    };
  };
  return {
    registry: registry.id,
    items: [view(state?.current, "current"), view(previous, "previous")].filter((x) => x !== null),
    revocation: revocation
      ? { versionId: revocation.versionId, state: revocation.state, reason: revocation.reason, checkedAt: revocation.checkedAt.toISOString(), overlapEndsAt: revocation.overlapEndsAt?.toISOString() ?? null }
      : null,
  };
}
