import type { AuditSummary, CredentialVersion, RegistryOverview, DeliveredVersion, DiscoveryRecord, EnvironmentLedger, EnvironmentQuery, EnvironmentRecord, Page, PageRequest, UndeclaredRecord } from "@pullkeeper/core";
import { DynamoTable } from "./dynamo-table.js";
import {
  auditKey,
  deliveryIndexKey,
  fromDeliveredHistoryItem,
  fromDiscoveryItem,
  fromEnvironmentItem,
  fromRevocationItem,
  fromSummaryItem,
  fromUndeclaredItem,
  toDiscoveryItem,
  toEnvironmentItem,
  toSummaryItem,
  toUndeclaredItem,
  verdictIndexKey,
} from "./environment-items.js";
import { fromStateItem, key, toVersion } from "./ledger-items.js";
import { randomUUID } from "node:crypto";

/**
 * The audit's items in the ledger table. Reads are Queries on the key or gsi1, never a Scan;
 * writes are single-item (the scan is the only writer of environment items).
 */
export class DynamoEnvironmentLedger extends DynamoTable implements EnvironmentLedger {
  /** The generation item as last read or written here, and when. */
  #marker: { readonly value: string; readonly at: number } | undefined;
  #reading: Promise<void> | undefined;
  /** Bumped after each audit write through this object: in one process, a write is seen at once, marker or not. */
  #writes = 0;

  /**
   * `<marker>/<writes here>`. The marker is read again once older than `maxAgeMs` (0: every call),
   * one read at a time however many callers ask. Writes through this object move it at once; a scan
   * in another process moves it within `maxAgeMs`.
   */
  async auditGeneration(options: { readonly maxAgeMs?: number } = {}): Promise<string> {
    const maxAgeMs = options.maxAgeMs ?? 0;
    if (this.#marker === undefined || Date.now() - this.#marker.at > maxAgeMs) {
      this.#reading ??= (async () => {
        const at = Date.now();
        const item = await this.getItem(auditKey.generation(), { consistent: true });
        this.#marker = { value: typeof item?.generation === "string" ? item.generation : "none", at };
      })().finally(() => {
        this.#reading = undefined;
      });
      await this.#reading;
    }
    return `${this.#marker?.value ?? "none"}/${this.#writes}`;
  }

  async markAuditGeneration(): Promise<void> {
    const value = randomUUID();
    await this.putItem({ ...auditKey.generation(), generation: value, at: new Date().toISOString() });
    this.#marker = { value, at: Date.now() };
    this.#writes++;
  }

  /** After the write: a reader that read the generation before it may have read either side of it, and misses next time. */
  async #written(write: Promise<void>): Promise<void> {
    await write;
    this.#writes++;
  }

  environments(query: EnvironmentQuery, page?: PageRequest): Promise<Page<EnvironmentRecord>> {
    const prefix = query.registryId === undefined ? "" : query.consumerId === undefined ? `${query.registryId}#` : `${query.registryId}#${query.consumerId}.`;
    if (query.verdict !== undefined) {
      return this.queryPage(
        {
          IndexName: "gsi1",
          KeyConditionExpression: prefix ? "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)" : "gsi1pk = :pk",
          ExpressionAttributeValues: { ":pk": verdictIndexKey(query.verdict), ...(prefix && { ":prefix": prefix }) },
        },
        page,
        fromEnvironmentItem,
      );
    }
    return this.queryPage(
      {
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": `REG#${query.registryId}`, ":prefix": query.consumerId === undefined ? "ENV#" : `ENV#${query.consumerId}.` },
      },
      page,
      fromEnvironmentItem,
    );
  }

  async environment(registryId: string, environmentId: string): Promise<EnvironmentRecord | undefined> {
    const item = await this.getItem(auditKey.environment(registryId, environmentId));
    return item ? fromEnvironmentItem(item) : undefined;
  }

  async putEnvironment(record: EnvironmentRecord): Promise<void> {
    await this.#written(this.putItem(toEnvironmentItem(record)));
  }

  async removeEnvironment(registryId: string, environmentId: string): Promise<void> {
    await this.#written(this.deleteItem(auditKey.environment(registryId, environmentId)));
  }

  async recordDiscovery(record: DiscoveryRecord): Promise<void> {
    await this.#written(this.putItem(toDiscoveryItem(record)));
  }

  discoveries(registryId: string, page?: PageRequest): Promise<Page<DiscoveryRecord>> {
    return this.queryPage({ KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)", ExpressionAttributeValues: { ":pk": `REG#${registryId}`, ":prefix": "DISC#" } }, page, fromDiscoveryItem);
  }

  async recordAuditSummary(summary: AuditSummary): Promise<void> {
    await this.#written(this.putItem(toSummaryItem(summary)));
  }

  async auditSummary(registryId: string): Promise<AuditSummary | undefined> {
    const item = await this.getItem(auditKey.summary(registryId));
    return item ? fromSummaryItem(item) : undefined;
  }

  undeclaredConsumers(registryId: string, page?: PageRequest): Promise<Page<UndeclaredRecord>> {
    return this.queryPage({ KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)", ExpressionAttributeValues: { ":pk": `REG#${registryId}`, ":prefix": "UNDECL#" } }, page, fromUndeclaredItem);
  }

  async putUndeclared(record: UndeclaredRecord): Promise<void> {
    await this.#written(this.putItem(toUndeclaredItem(record)));
  }

  async removeUndeclared(registryId: string, resource: string): Promise<void> {
    await this.#written(this.deleteItem(auditKey.undeclared(registryId, resource)));
  }

  deliveryHistory(registryId: string, consumerId: string, page?: PageRequest): Promise<Page<DeliveredVersion>> {
    return this.queryPage(
      { IndexName: "gsi1", KeyConditionExpression: "gsi1pk = :pk", ExpressionAttributeValues: { ":pk": deliveryIndexKey(registryId, consumerId) }, ScanIndexForward: false },
      page,
      fromDeliveredHistoryItem,
    );
  }

  /**
   * State, last scan and revocation of each registry in one BatchGetItem (per 100 keys), then the
   * previous versions in one more: what the registry list shows, in 2 round trips instead of 3–4 per registry.
   */
  async registryOverviews(registryIds: readonly string[]): Promise<ReadonlyMap<string, RegistryOverview>> {
    const first = await this.batchGet(registryIds.flatMap((id) => [key.state(id), auditKey.summary(id), key.revocation(id)]));
    const previousOf = (id: string) => {
      const previous = first(key.state(id))?.previousVersionId;
      return typeof previous === "string" ? key.version(id, previous) : undefined;
    };
    const versions = await this.batchGet(registryIds.flatMap((id) => previousOf(id) ?? []));
    return new Map(
      registryIds.map((id) => {
        const [state, summary, revocation] = [first(key.state(id)), first(auditKey.summary(id)), first(key.revocation(id))];
        const previousKey = previousOf(id);
        const previous = previousKey && versions(previousKey);
        const overview: RegistryOverview = {
          ...(state && { state: fromStateItem(state) }),
          ...(summary && { summary: fromSummaryItem(summary) }),
          ...(revocation && { revocation: fromRevocationItem(revocation) }),
          ...(previous && { previous: toVersion(previous) }),
        };
        return [id, overview];
      }),
    );
  }

  async version(registryId: string, versionId: string): Promise<CredentialVersion | undefined> {
    const item = await this.getItem(key.version(registryId, versionId));
    return item ? toVersion(item) : undefined;
  }
}
