import { createHash } from "node:crypto";
import pLimit from "p-limit";
import type { Consumer, DeliveryTarget } from "../propagation/delivery.js";
import type { AuditSummary, EnvironmentLedger, EnvironmentRecord } from "./environment-ledger.js";
import type { DiscoveredEnvironment, TrackedSecret, UndeclaredConsumer } from "./environments.js";
import { PullkeeperError } from "../model/errors.js";
import { allPages } from "./pages.js";
import type { EnvironmentStale } from "../model/events.js";
import type { CredentialVersion, Registry } from "../model/model.js";
import type { Clock, EventBus, Ledger } from "../model/ports.js";
import { type DeliveredVersion, judgeEnvironment, type Verdict, VERDICTS } from "../model/verdict.js";

/** Finds AWS resources that reference tracked secrets without being declared consumers. */
export interface UndeclaredConsumerSearch {
  find(tracked: readonly TrackedSecret[], declared: readonly Consumer[]): Promise<UndeclaredConsumer[]>;
}

export interface AuditScanDependencies {
  readonly registries: readonly Registry[];
  readonly consumers: readonly Consumer[];
  readonly targets: ReadonlyMap<string, DeliveryTarget>;
  readonly ledger: Ledger & EnvironmentLedger;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly clockSkewSeconds: number;
  readonly undeclared?: UndeclaredConsumerSearch;
  /** Consumers discovered at once (default 4): discovery calls count against the providers' read limits. */
  readonly concurrency?: number;
}

export interface RegistryAuditReport {
  readonly registryId: string;
  readonly counts: Readonly<Record<Verdict, number>>;
  readonly discoveryFailures: number;
  readonly undeclared: number;
  /** Minutes until the current version expires; absent for credentials that do not expire. */
  readonly minutesToExpiry?: number;
}

export interface AuditReport {
  readonly registries: readonly RegistryAuditReport[];
  readonly totals: Readonly<Record<Verdict, number>>;
  readonly discoveryFailures: number;
  /** The soonest expiry across the scanned registries, in minutes; absent when none expires. */
  readonly minutesToEarliestExpiry?: number;
}

export const environmentId = (consumerId: string, externalId: string) => `${consumerId}.${createHash("sha256").update(externalId).digest("hex").slice(0, 16)}`;

/** lastSeenAt is refreshed at most this often when nothing else changed: a fleet of 100,000 would otherwise be rewritten every scan. */
const LAST_SEEN_REFRESH_MS = 60 * 60_000;

function changed(before: EnvironmentRecord, after: EnvironmentRecord, now: Date): boolean {
  const fields = ["verdict", "reason", "status", "name", "detail", "url", "heldVersionId"] as const;
  return (
    fields.some((f) => before[f] !== after[f]) ||
    before.startedAt.getTime() !== after.startedAt.getTime() ||
    now.getTime() - before.lastSeenAt.getTime() >= LAST_SEEN_REFRESH_MS
  );
}

const zero = (): Record<Verdict, number> => ({ current: 0, stale: 0, expired: 0, doomed: 0 });

/** Verdict counts added up. */
function sum(parts: readonly { readonly counts: Readonly<Record<Verdict, number>> }[]): Record<Verdict, number> {
  const total = zero();
  for (const part of parts) for (const v of VERDICTS) total[v] += part.counts[v];
  return total;
}

/**
 * The audit: per consumer, discover what runs → judge each environment against the ledger →
 * record verdicts (with history when one changes) → publish Environment Stale for the newly bad.
 * A consumer whose discovery fails keeps its last known environments, and the failure is recorded.
 */
export class AuditScanService {
  readonly #deps: AuditScanDependencies;

  constructor(deps: AuditScanDependencies) {
    this.#deps = deps;
  }

  async scan(options: { readonly registryIds?: readonly string[] } = {}): Promise<AuditReport> {
    const registries = options.registryIds ? this.#deps.registries.filter((r) => options.registryIds?.includes(r.id)) : this.#deps.registries;
    const reports: RegistryAuditReport[] = [];
    let undeclared: UndeclaredConsumer[] | Error | undefined;
    try {
      undeclared = await this.#findUndeclared(registries);
      for (const registry of registries) reports.push(await this.#scanRegistry(registry, undeclared));
    } finally {
      // Also after a failure part-way: what it did write must not hide behind a reader's cached pages.
      await this.#deps.ledger.markAuditGeneration?.();
    }
    const totals = sum(reports);
    const expiries = reports.flatMap((r) => (r.minutesToExpiry === undefined ? [] : [r.minutesToExpiry]));
    return {
      registries: reports,
      totals,
      discoveryFailures: reports.reduce((n, r) => n + r.discoveryFailures, 0) + (undeclared instanceof Error ? 1 : 0),
      ...(expiries.length > 0 && { minutesToEarliestExpiry: Math.min(...expiries) }),
    };
  }

  async #findUndeclared(registries: readonly Registry[]): Promise<UndeclaredConsumer[] | Error | undefined> {
    if (!this.#deps.undeclared) return undefined;
    try {
      return await this.#deps.undeclared.find(
        registries.map((r) => ({ registryId: r.id, secret: r.secret })),
        this.#deps.consumers,
      );
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  async #scanRegistry(registry: Registry, undeclared: UndeclaredConsumer[] | Error | undefined): Promise<RegistryAuditReport> {
    const { ledger, clock } = this.#deps;
    const now = clock.now();
    const current = (await ledger.registryState(registry.id))?.current;
    const versions = new Map<string, Promise<CredentialVersion | undefined>>();
    const versionOf = (id: string) => {
      if (!versions.has(id)) versions.set(id, ledger.version(registry.id, id));
      return versions.get(id) as Promise<CredentialVersion | undefined>;
    };
    const limit = pLimit(this.#deps.concurrency ?? 4);
    const consumers = this.#deps.consumers.filter((c) => c.registryId === registry.id && this.#deps.targets.get(c.target.kind)?.discoverEnvironments);
    const results = await Promise.all(consumers.map((c) => limit(() => this.#scanConsumer(registry, c, current, versionOf, now))));
    const counts = sum(results);
    const discoveryFailures = results.filter((r) => r.failed).length;

    let undeclaredCount = 0;
    if (Array.isArray(undeclared)) undeclaredCount = await this.#recordUndeclared(registry.id, undeclared.filter((u) => u.registryId === registry.id), now);
    else if (undeclared instanceof Error) await this.#discoveryFailed(registry.id, "undeclared-search", undeclared, now);

    const summary: AuditSummary = { registryId: registry.id, at: now, counts, discoveryFailures };
    await ledger.recordAuditSummary(summary);
    const minutesToExpiry = current?.expiresAt ? Math.floor((current.expiresAt.getTime() - now.getTime()) / 60_000) : undefined;
    return { registryId: registry.id, counts, discoveryFailures, undeclared: undeclaredCount, ...(minutesToExpiry !== undefined && { minutesToExpiry }) };
  }

  async #scanConsumer(
    registry: Registry,
    consumer: Consumer,
    current: CredentialVersion | undefined,
    versionOf: (id: string) => Promise<CredentialVersion | undefined>,
    now: Date,
  ): Promise<{ counts: Record<Verdict, number>; failed: boolean }> {
    const { ledger } = this.#deps;
    const counts = zero();
    const known = await allPages((page) => ledger.environments({ registryId: registry.id, consumerId: consumer.id }, page));
    let discovered: readonly DiscoveredEnvironment[];
    try {
      discovered = await (this.#deps.targets.get(consumer.target.kind)?.discoverEnvironments?.(consumer) ?? Promise.resolve([]));
    } catch (error) {
      await this.#discoveryFailed(registry.id, consumer.id, error, now);
      // What we saw last still counts: a failed discovery must not make stale environments vanish.
      for (const e of known) counts[e.verdict] += 1;
      return { counts, failed: true };
    }

    const delivery = await ledger.consumerDelivery(registry.id, consumer.id);
    // A reduce, not Math.min(...): a consumer may run more environments than a call takes arguments.
    const oldestStart = discovered.reduce((min, e) => Math.min(min, e.startedAt.getTime()), Number.POSITIVE_INFINITY);
    const deliveries = discovered.length === 0 ? [] : await this.#deliveriesSince(registry.id, consumer.id, oldestStart - this.#deps.clockSkewSeconds * 1000, versionOf);
    const previous = new Map(known.map((e) => [e.id, e]));
    const events: EnvironmentStale[] = [];

    for (const found of discovered) {
      const id = environmentId(consumer.id, found.externalId);
      const before = previous.get(id);
      previous.delete(id);
      const judged = judgeEnvironment({ startedAt: found.startedAt, current, delivery, deliveries, now, clockSkewSeconds: this.#deps.clockSkewSeconds });
      counts[judged.verdict] += 1;
      const record: EnvironmentRecord = {
        ...found,
        id,
        registryId: registry.id,
        consumerId: consumer.id,
        verdict: judged.verdict,
        heldVersionId: judged.heldVersionId,
        verdictSince: before?.verdict === judged.verdict ? before.verdictSince : judged.since,
        reason: judged.reason,
        firstSeenAt: before?.firstSeenAt ?? now,
        lastSeenAt: now,
      };
      if (!before || changed(before, record, now)) await ledger.putEnvironment(record);
      if (before?.verdict !== judged.verdict) {
        await ledger.appendHistory({ type: "environment-verdict", registryId: registry.id, at: now, consumerId: consumer.id, environmentId: id, name: found.name, from: before?.verdict ?? null, to: judged.verdict, reason: judged.reason });
        if (judged.verdict !== "current") {
          events.push({ type: "Environment Stale", detail: { registryId: registry.id, consumerId: consumer.id, environmentId: id, verdict: judged.verdict, ...(judged.heldVersionId !== null && { heldVersionId: judged.heldVersionId }), ...(current && { currentVersionId: current.versionId }) } });
        }
      }
    }
    // Whatever was running last time and is not now has stopped: its stale credential went with it.
    for (const gone of previous.values()) {
      await ledger.removeEnvironment(registry.id, gone.id);
      await ledger.appendHistory({ type: "environment-verdict", registryId: registry.id, at: now, consumerId: consumer.id, environmentId: gone.id, name: gone.name, from: gone.verdict, to: "gone", reason: "no longer running" });
    }
    await ledger.recordDiscovery({ registryId: registry.id, consumerId: consumer.id, at: now, ok: true, environments: discovered.length });
    if (events.length > 0) await this.#deps.bus.publish(events);
    return { counts, failed: false };
  }

  /** Delivered versions newest first, back to the first one at or before `sinceMs` (one is enough to know what an environment loaded). */
  async #deliveriesSince(registryId: string, consumerId: string, sinceMs: number, versionOf: (id: string) => Promise<CredentialVersion | undefined>): Promise<DeliveredVersion[]> {
    const out: DeliveredVersion[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#deps.ledger.deliveryHistory(registryId, consumerId, { limit: 25, ...(cursor !== undefined && { cursor }) });
      for (const d of page.items) {
        const expiresAt = d.expiresAt ?? (await versionOf(d.versionId))?.expiresAt;
        out.push({ ...d, ...(expiresAt && { expiresAt }) });
        if (d.deliveredAt.getTime() <= sinceMs) return out;
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return out;
  }

  async #discoveryFailed(registryId: string, consumerId: string, error: unknown, at: Date): Promise<void> {
    const code = error instanceof PullkeeperError ? error.code : "discovery_failed";
    const message = error instanceof Error ? error.message : String(error);
    await this.#deps.ledger.recordDiscovery({ registryId, consumerId, at, ok: false, environments: 0, error: { code, message } });
    await this.#deps.ledger.appendHistory({ type: "discovery-failed", registryId, at, consumerId, code, message });
  }

  async #recordUndeclared(registryId: string, found: readonly UndeclaredConsumer[], now: Date): Promise<number> {
    const { ledger } = this.#deps;
    const before = new Map((await allPages((page) => ledger.undeclaredConsumers(registryId, page))).map((u) => [u.resource, u]));
    for (const u of found) {
      await ledger.putUndeclared({ ...u, firstSeenAt: before.get(u.resource)?.firstSeenAt ?? now, lastSeenAt: now });
      before.delete(u.resource);
    }
    for (const gone of before.keys()) await ledger.removeUndeclared(registryId, gone);
    return found.length;
  }
}
