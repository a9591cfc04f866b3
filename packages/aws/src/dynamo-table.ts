import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { InvalidInputError, type Page, type PageRequest } from "@pullkeeper/core";
import pRetry from "p-retry";
import { clientOptions } from "./clients.js";
import { decodeCursor, encodeCursor, InvalidCursorError } from "./cursor.js";
import { classifyAwsError } from "./errors.js";

export interface DynamoTableOptions {
  readonly tableName: string;
  readonly client?: DynamoDBClient;
}

const MAX_PAGE = 100;

export function pageLimit(page?: PageRequest): number {
  const limit = page?.limit ?? 25;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new InvalidInputError(`limit must be an integer from 1 to ${MAX_PAGE}`);
  return limit;
}

type Item = Record<string, unknown>;

/** BatchGetItem answered, but left some keys unprocessed (throttled or over its size limit). */
class KeysUnprocessed extends Error {}

const keyOf = (item: Item) => `${String(item.pk)}\u0000${String(item.sk)}`;

/** The ledger table's client and what every ledger part does with it: classified calls, single-item reads and writes, paginated queries. */
export abstract class DynamoTable {
  protected readonly doc: DynamoDBDocumentClient;
  protected readonly table: string;

  constructor(options: DynamoTableOptions) {
    this.table = options.tableName;
    this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient(clientOptions()), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  protected async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw classifyAwsError(error, `ledger ${what} on ${this.table}`);
    }
  }

  protected async getItem(key: Item, options: { readonly consistent?: boolean } = {}): Promise<Item | undefined> {
    const out = await this.call("GetItem", () => this.doc.send(new GetCommand({ TableName: this.table, Key: key, ...(options.consistent === true && { ConsistentRead: true }) })));
    return out.Item;
  }

  /** An unconditional put, or one guarded by `condition` (a failed condition is thrown, classified). */
  /**
   * Consistent BatchGetItem of `keys`, 100 per call, the keys DynamoDB left unprocessed asked
   * again (a failed call was retried by the SDK client already); the items found, by key.
   */
  protected async batchGet(keys: readonly Item[]): Promise<(key: Item) => Item | undefined> {
    const found = new Map<string, Item>();
    for (let i = 0; i < keys.length; i += 100) {
      let pending = keys.slice(i, i + 100);
      await pRetry(
        async (attempt) => {
          const out = await this.call("BatchGetItem", () => this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: [...pending], ConsistentRead: true } } })));
          for (const item of out.Responses?.[this.table] ?? []) found.set(keyOf(item), item);
          pending = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
          if (pending.length > 0) throw new KeysUnprocessed(`ledger BatchGetItem on ${this.table}: ${pending.length} keys still unprocessed after ${attempt} attempts`);
        },
        { retries: 8, minTimeout: 50, maxTimeout: 1_000, factor: 2, shouldRetry: ({ error }) => error instanceof KeysUnprocessed },
      );
    }
    return (key) => found.get(keyOf(key));
  }

  protected async putItem(item: Item, condition?: string): Promise<void> {
    await this.call("PutItem", () => this.doc.send(new PutCommand({ TableName: this.table, Item: item, ...(condition !== undefined && { ConditionExpression: condition }) })));
  }

  protected async deleteItem(key: Item): Promise<void> {
    await this.call("DeleteItem", () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: key })));
  }

  /** One page of a Query; the cursor is the LastEvaluatedKey, opaque to callers. */
  protected async queryPage<T>(input: Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">, page: PageRequest | undefined, map: (item: Record<string, unknown>) => T): Promise<Page<T>> {
    const start = page?.cursor !== undefined ? decodeCursor(page.cursor) : undefined;
    const out = await this.call("Query", async () => {
      try {
        return await this.doc.send(new QueryCommand({ ...input, TableName: this.table, Limit: pageLimit(page), ...(start && { ExclusiveStartKey: start }) }));
      } catch (error) {
        // A well-formed key of another partition or index: DynamoDB refuses the start key, and that is the caller's cursor.
        if (start && (error as { name?: string }).name === "ValidationException") throw new InvalidCursorError();
        throw error;
      }
    });
    return { items: (out.Items ?? []).map(map), ...(out.LastEvaluatedKey && { cursor: encodeCursor(out.LastEvaluatedKey) }) };
  }
}
