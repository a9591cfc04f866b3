import type { Consumer } from "../propagation/delivery.js";
import type { EnvironmentRecord } from "./environment-ledger.js";
import type { RestartOutcome } from "./environments.js";
import type { Registry } from "../model/model.js";

/**
 * What an operator can set in motion from the audit API (@pullkeeper/api); the deployment wires
 * each one, and an action left out is one that deployment does not offer.
 */
export interface AuditActions {
  /** Refresh (minted tokens) or rotate (htpasswd) one registry now; resolves with a JSON-able result. */
  refresh(registry: Registry, options: { readonly force: boolean }): Promise<unknown>;
  /** Queue a delivery of the registry's current version to one consumer, whatever its state. */
  redeliver?(consumer: Consumer): Promise<unknown>;
  /** Stop or roll one environment through its target (the consumer opted in; the API checked). */
  restart?(consumer: Consumer, environment: EnvironmentRecord): Promise<RestartOutcome>;
  /** Queue the registry's current version to every consumer that does not hold it (force: to all). */
  propagate?(registry: Registry, options: { readonly force: boolean }): Promise<unknown>;
  /** Run the audit scan now (all registries, or these). */
  scan?(registryIds: readonly string[] | undefined): Promise<unknown>;
  /** Put the previous credential back as current (not revoked, still opens the registry) and propagate it. */
  rollback?(registry: Registry): Promise<unknown>;
}
