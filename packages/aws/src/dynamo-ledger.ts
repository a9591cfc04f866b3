import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  type ConsumerDelivery,
  type CredentialVersion,
  type DeliveryOutcome,
  type DeliveryRequest,
  type HistoryEntry,
  type Ledger,
  type Page,
  type PageRequest,
  type RegistryRecord,
  type RegistryState,
  type VersionToWrite,
} from "@pullkeeper/core";
import { randomUUID } from "node:crypto";
import { DynamoLifecycleLedger } from "./dynamo-lifecycle-ledger.js";
import type { DynamoTableOptions } from "./dynamo-table.js";
import { classifyAwsError } from "./errors.js";
import { deliveryKey, fromDeliveryItem } from "./delivery-items.js";
import { fromHistoryItem, fromStateItem, key, REGISTRIES_INDEX_KEY, toHistoryItem, toVersion, toVersionItem, versionAttributes } from "./ledger-items.js";

export type DynamoLedgerOptions = DynamoTableOptions;

/**
 * The Ledger on one DynamoDB table (pk/sk plus index gsi1). Every write is a single-item,
 * conditional write: no transactions and no TTL, which the embedded DynamoDB lacks. The audit's
 * items live in the same table (DynamoEnvironmentLedger).
 */
export class DynamoLedger extends DynamoLifecycleLedger implements Ledger {
  async registryState(registryId: string): Promise<RegistryState | undefined> {
    const item = await this.getItem(key.state(registryId), { consistent: true });
    return item ? fromStateItem(item) : undefined;
  }

  listRegistries(page?: PageRequest): Promise<Page<RegistryState>> {
    return this.queryPage({ IndexName: "gsi1", KeyConditionExpression: "gsi1pk = :pk", ExpressionAttributeValues: { ":pk": REGISTRIES_INDEX_KEY } }, page, fromStateItem);
  }

  async recordCurrentVersion(registry: RegistryRecord, version: CredentialVersion): Promise<"recorded" | "superseded"> {
    // The version item is immutable: a second write of the same version changes nothing.
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.table, Item: toVersionItem(version), ConditionExpression: "attribute_not_exists(pk)" }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== "ConditionalCheckFailedException") throw classifyAwsError(error, "ledger PutItem");
    }
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key.state(registry.registryId),
          // Only a version created later may take the place of the current one. One created at the
          // same instant is not older: the caller has just promoted it, so the vault says it is current.
          ConditionExpression: "attribute_not_exists(currentCreatedAtMs) OR currentCreatedAtMs <= :created",
          UpdateExpression:
            "SET registryId = :registryId, host = :host, kind = :kind, sourceType = :sourceType, secretArn = :secretArn, gsi1pk = :gsi1pk, gsi1sk = :registryId, #current = :current, currentCreatedAtMs = :created, currentVersionId = :versionId, updatedAt = :now",
          ExpressionAttributeNames: { "#current": "current" },
          ExpressionAttributeValues: {
            ":registryId": registry.registryId,
            ":host": registry.host,
            ":kind": registry.kind,
            ":sourceType": registry.sourceType,
            ":secretArn": registry.secretArn,
            ":gsi1pk": REGISTRIES_INDEX_KEY,
            ":current": versionAttributes(version),
            ":created": version.createdAt.getTime(),
            ":versionId": version.versionId,
            ":now": new Date().toISOString(),
          },
          ReturnValues: "UPDATED_OLD",
        }),
      );
      // The version it replaced is now the previous one: its overlap with this one starts here.
      const replaced = out.Attributes?.currentVersionId;
      if (typeof replaced === "string" && replaced !== version.versionId) await this.recordSuperseded(registry.registryId, replaced, version.versionId, version.promotedAt ?? version.createdAt);
      return "recorded";
    } catch (error) {
      if ((error as { name?: string }).name === "ConditionalCheckFailedException") return "superseded";
      throw classifyAwsError(error, "ledger UpdateItem");
    }
  }

  async recordWriteIntent(version: VersionToWrite): Promise<void> {
    // Unconditional: the latest intent is the only one a later run can take up.
    await this.putItem({ ...key.writeIntent(version.registryId), ...versionAttributes(version) });
  }

  async writeIntent(registryId: string): Promise<VersionToWrite | undefined> {
    const item = await this.getItem(key.writeIntent(registryId), { consistent: true });
    if (item === undefined) return undefined;
    const { secretArn: _arn, ...version } = toVersion(item);
    return version;
  }

  async appendHistory(entry: HistoryEntry): Promise<void> {
    const item = toHistoryItem(entry, randomUUID());
    await this.putItem(item, "attribute_not_exists(pk)");
  }

  history(registryId: string, page?: PageRequest): Promise<Page<HistoryEntry>> {
    return this.queryPage(
      { KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)", ExpressionAttributeValues: { ":pk": key.state(registryId).pk, ":prefix": "HIST#" }, ScanIndexForward: false },
      page,
      fromHistoryItem,
    );
  }

  async consumerDelivery(registryId: string, consumerId: string): Promise<ConsumerDelivery | undefined> {
    const item = await this.getItem(deliveryKey(registryId, consumerId), { consistent: true });
    return item ? fromDeliveryItem(item) : undefined;
  }

  consumerDeliveries(registryId: string, page?: PageRequest): Promise<Page<ConsumerDelivery>> {
    return this.queryPage(
      { KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)", ExpressionAttributeValues: { ":pk": key.state(registryId).pk, ":prefix": "CONS#" }, ConsistentRead: true },
      page,
      fromDeliveryItem,
    );
  }

  async markPending(request: DeliveryRequest, at: Date, options: { readonly redrive?: Pick<ConsumerDelivery, "versionId" | "updatedAt"> } = {}): Promise<"pending" | "already" | "superseded"> {
    const { redrive } = options;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: deliveryKey(request.registryId, request.consumerId),
          ConditionExpression: redrive
            ? // The same version again (force, a failed one's backoff is over, a lost message): only
              // if nobody touched the record since the planner read it, so concurrent planners queue it once.
              "updatedAt = :seen AND (versionCreatedAtMs <= :created)"
            : // Only a newer version resets the record; the same one again is left as it is. A
              // version created at the same instant with another VersionId is not older: only the
              // vault's AWSCURRENT is ever planned, so it is the newer one.
              "attribute_not_exists(versionCreatedAtMs) OR versionCreatedAtMs < :created OR (versionCreatedAtMs = :created AND versionId <> :version)",
          UpdateExpression: redrive
            ? "SET #state = :pending, versionId = :version, versionCreatedAtMs = :created, secretArn = :secretArn, attempts = :zero, updatedAt = :at REMOVE nextAttemptAt"
            : "SET consumerId = :consumer, registryId = :registry, #state = :pending, versionId = :version, versionCreatedAtMs = :created, secretArn = :secretArn, attempts = :zero, failures = :zero, updatedAt = :at REMOVE lastError, nextAttemptAt",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: {
            ...(redrive ? { ":seen": redrive.updatedAt.toISOString() } : { ":consumer": request.consumerId, ":registry": request.registryId }),
            ":pending": "pending",
            ":version": request.versionId,
            ":created": request.versionCreatedAt.getTime(),
            ":secretArn": request.secretArn,
            ":zero": 0,
            ":at": at.toISOString(),
          },
        }),
      );
      return "pending";
    } catch (error) {
      if ((error as { name?: string }).name !== "ConditionalCheckFailedException") throw classifyAwsError(error, "ledger UpdateItem");
      const current = await this.consumerDelivery(request.registryId, request.consumerId);
      if (current !== undefined && current.versionCreatedAt.getTime() > request.versionCreatedAt.getTime()) return "superseded";
      // The same version, or (redrive) a record someone changed since it was read: leave it to them.
      return current?.versionId === request.versionId || redrive !== undefined ? "already" : "superseded";
    }
  }

  async recordDelivered(request: DeliveryRequest, outcome: DeliveryOutcome, at: Date): Promise<"recorded" | "superseded"> {
    return this.#conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: deliveryKey(request.registryId, request.consumerId),
        // A late success for an older version must not claim the consumer holds the newest one.
        ConditionExpression:
          "(attribute_not_exists(versionCreatedAtMs) OR versionCreatedAtMs <= :created) AND (attribute_not_exists(deliveredCreatedAtMs) OR deliveredCreatedAtMs <= :created)",
        UpdateExpression:
          "SET consumerId = :consumer, registryId = :registry, #state = :state, versionId = :version, versionCreatedAtMs = :created, secretArn = :secretArn, deliveredVersionId = :version, deliveredCreatedAtMs = :created, deliveredAt = :at, detail = :detail, attempts = if_not_exists(attempts, :zero) + :one, failures = :zero, updatedAt = :at REMOVE lastError, nextAttemptAt",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: {
          ":consumer": request.consumerId,
          ":registry": request.registryId,
          ":state": outcome.status,
          ":version": request.versionId,
          ":created": request.versionCreatedAt.getTime(),
          ":secretArn": request.secretArn,
          ":detail": outcome.detail,
          ":zero": 0,
          ":one": 1,
          ":at": at.toISOString(),
        },
      }),
    );
  }

  async recordAttemptFailed(
    request: DeliveryRequest,
    error: { readonly code: string; readonly message: string },
    final: boolean,
    at: Date,
    retry?: { readonly nextAttemptAt: Date; readonly counted: boolean },
  ): Promise<"recorded" | "superseded"> {
    const state = final ? "failed" : retry ? "retrying" : "pending";
    const counted = final || retry === undefined || retry.counted;
    const sets = [
      "#state = :state",
      "lastError = :error",
      `attempts = if_not_exists(attempts, :zero) + ${counted ? ":one" : ":zero"}`,
      "updatedAt = :at",
      ...(final ? ["failures = if_not_exists(failures, :zero) + :one"] : []),
      ...(retry && !final ? ["nextAttemptAt = :next"] : []),
    ];
    return this.#conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: deliveryKey(request.registryId, request.consumerId),
        // Still this version's record, and not delivered meanwhile (a duplicate message that failed
        // after another succeeded must not turn "delivered" back into "retrying").
        ConditionExpression: "versionId = :version AND NOT (#state IN (:delivered, :verified))",
        UpdateExpression: `SET ${sets.join(", ")}${retry && !final ? "" : " REMOVE nextAttemptAt"}`,
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: {
          ":state": state,
          ":error": { code: error.code, message: error.message, at: at.toISOString() },
          ":version": request.versionId,
          ":delivered": "delivered",
          ":verified": "verified",
          ":zero": 0,
          ...(counted || final ? { ":one": 1 } : {}),
          ":at": at.toISOString(),
          ...(retry && !final ? { ":next": retry.nextAttemptAt.toISOString() } : {}),
        },
      }),
    );
  }

  async #conditional(command: UpdateCommand): Promise<"recorded" | "superseded"> {
    try {
      await this.doc.send(command);
      return "recorded";
    } catch (error) {
      if ((error as { name?: string }).name === "ConditionalCheckFailedException") return "superseded";
      throw classifyAwsError(error, "ledger UpdateItem");
    }
  }
}
