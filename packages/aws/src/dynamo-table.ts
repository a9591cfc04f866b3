import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { InvalidInputError, type Page, type PageRequest } from "@pullkeeper/core";
import { clientOptions } from "./clients.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
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

/** The ledger table's client and the two things every ledger part does with it: classified calls and paginated queries. */
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

  /** One page of a Query; the cursor is the LastEvaluatedKey, opaque to callers. */
  protected async queryPage<T>(input: Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">, page: PageRequest | undefined, map: (item: Record<string, unknown>) => T): Promise<Page<T>> {
    const out = await this.call("Query", () =>
      this.doc.send(new QueryCommand({ ...input, TableName: this.table, Limit: pageLimit(page), ...(page?.cursor !== undefined && { ExclusiveStartKey: decodeCursor(page.cursor) }) })),
    );
    return { items: (out.Items ?? []).map(map), ...(out.LastEvaluatedKey && { cursor: encodeCursor(out.LastEvaluatedKey) }) };
  }
}
