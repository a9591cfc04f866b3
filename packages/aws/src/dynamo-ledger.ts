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
} from "@pullkeeper/core";
import { randomUUID } from "node:crypto";
import { DynamoEnvironmentLedger } from "./dynamo-environment-ledger.js";
import type { DynamoTableOptions } from "./dynamo-table.js";
import { classifyAwsError } from "./errors.js";
import { deliveryKey, fromDeliveryItem } from "./delivery-items.js";
import { fromHistoryItem, fromStateItem, key, REGISTRIES_INDEX_KEY, toHistoryItem, toVersionItem, versionAttributes } from "./ledger-items.js";

export type DynamoLedgerOptions = DynamoTableOptions;

/**
 * The Ledger on one DynamoDB table (pk/sk plus index gsi1). Every write is a single-item,
 * conditional write: no transactions and no TTL, which the embedded DynamoDB lacks. The audit's
 * items live in the same table (DynamoEnvironmentLedger).
 */
export class DynamoLedger extends DynamoEnvironmentLedger implements Ledger {
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
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key.state(registry.registryId),
          // Only a version created later may take the place of the current one.
          ConditionExpression: "attribute_not_exists(currentCreatedAtMs) OR currentCreatedAtMs < :created OR currentVersionId = :versionId",
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
        }),
      );
      return "recorded";
    } catch (error) {
      if ((error as { name?: string }).name === "ConditionalCheckFailedException") return "superseded";
      throw classifyAwsError(error, "ledger UpdateItem");
    }
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

  async markPending(request: DeliveryRequest, at: Date): Promise<"pending" | "already" | "superseded"> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: deliveryKey(request.registryId, request.consumerId),
          // Only a newer version resets the record; the same one again is left as it is.
          ConditionExpression: "attribute_not_exists(versionCreatedAtMs) OR versionCreatedAtMs < :created",
          UpdateExpression:
            "SET consumerId = :consumer, registryId = :registry, #state = :pending, versionId = :version, versionCreatedAtMs = :created, secretArn = :secretArn, attempts = :zero, updatedAt = :at REMOVE lastError",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: {
            ":consumer": request.consumerId,
            ":registry": request.registryId,
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
      return current?.versionId === request.versionId ? "already" : "superseded";
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
          "SET consumerId = :consumer, registryId = :registry, #state = :state, versionId = :version, versionCreatedAtMs = :created, secretArn = :secretArn, deliveredVersionId = :version, deliveredCreatedAtMs = :created, deliveredAt = :at, detail = :detail, attempts = if_not_exists(attempts, :zero) + :one, updatedAt = :at REMOVE lastError",
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

  async recordAttemptFailed(request: DeliveryRequest, error: { readonly code: string; readonly message: string }, final: boolean, at: Date): Promise<"recorded" | "superseded"> {
    return this.#conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: deliveryKey(request.registryId, request.consumerId),
        ConditionExpression: "versionId = :version",
        UpdateExpression: "SET #state = :state, lastError = :error, attempts = if_not_exists(attempts, :zero) + :one, updatedAt = :at",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: {
          ":state": final ? "failed" : "pending",
          ":error": { code: error.code, message: error.message, at: at.toISOString() },
          ":version": request.versionId,
          ":zero": 0,
          ":one": 1,
          ":at": at.toISOString(),
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
