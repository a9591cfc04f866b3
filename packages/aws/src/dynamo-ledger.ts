import { PutCommand, QueryCommand, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
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
import { type DynamoTableOptions, pageLimit } from "./dynamo-table.js";
import { classifyAwsError } from "./errors.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
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
    const out = await this.call("GetItem", () => this.doc.send(new GetCommand({ TableName: this.table, Key: key.state(registryId), ConsistentRead: true })));
    return out.Item ? fromStateItem(out.Item) : undefined;
  }

  async listRegistries(page?: PageRequest): Promise<Page<RegistryState>> {
    const out = await this.call("Query", () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: "gsi1",
          KeyConditionExpression: "gsi1pk = :pk",
          ExpressionAttributeValues: { ":pk": REGISTRIES_INDEX_KEY },
          Limit: pageLimit(page),
          ...(page?.cursor !== undefined && { ExclusiveStartKey: decodeCursor(page.cursor) }),
        }),
      ),
    );
    return { items: (out.Items ?? []).map(fromStateItem), ...(out.LastEvaluatedKey && { cursor: encodeCursor(out.LastEvaluatedKey) }) };
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
    await this.call("PutItem", () => this.doc.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: "attribute_not_exists(pk)" })));
  }

  async history(registryId: string, page?: PageRequest): Promise<Page<HistoryEntry>> {
    const out = await this.call("Query", () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": key.state(registryId).pk, ":prefix": "HIST#" },
          ScanIndexForward: false,
          Limit: pageLimit(page),
          ...(page?.cursor !== undefined && { ExclusiveStartKey: decodeCursor(page.cursor) }),
        }),
      ),
    );
    return { items: (out.Items ?? []).map(fromHistoryItem), ...(out.LastEvaluatedKey && { cursor: encodeCursor(out.LastEvaluatedKey) }) };
  }

  async consumerDelivery(registryId: string, consumerId: string): Promise<ConsumerDelivery | undefined> {
    const out = await this.call("GetItem", () => this.doc.send(new GetCommand({ TableName: this.table, Key: deliveryKey(registryId, consumerId), ConsistentRead: true })));
    return out.Item ? fromDeliveryItem(out.Item) : undefined;
  }

  async consumerDeliveries(registryId: string, page?: PageRequest): Promise<Page<ConsumerDelivery>> {
    const out = await this.call("Query", () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": key.state(registryId).pk, ":prefix": "CONS#" },
          ConsistentRead: true,
          Limit: pageLimit(page),
          ...(page?.cursor !== undefined && { ExclusiveStartKey: decodeCursor(page.cursor) }),
        }),
      ),
    );
    return { items: (out.Items ?? []).map(fromDeliveryItem), ...(out.LastEvaluatedKey && { cursor: encodeCursor(out.LastEvaluatedKey) }) };
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
