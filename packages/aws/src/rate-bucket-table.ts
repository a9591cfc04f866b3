import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { BucketState, GcraLimit } from "@pullkeeper/core";
import { classifyAwsError } from "./errors.js";

/** The bucket's item in the ledger table: one per provider. */
export const rateKey = (provider: string) => ({ pk: `RATE#${provider}`, sk: "BUCKET" });

export const isConditionFailed = (error: unknown) => (error as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";

/** What DynamoRateLimiter asks of a reservation write; see RateBucketTable.reserve. */
export interface Reservation {
  /** Which write shape: tat ≥ floor (queued) or tat ≤ floor (room). */
  readonly queued: boolean;
  readonly floor: number;
  /** The pause the caller saw; the write fails if another one arrived since. */
  readonly pausedSeen: number | undefined;
  readonly limit: GcraLimit;
  readonly writes: number;
  /** The latest slot the caller will wait for. */
  readonly latestSlot: number;
}

/**
 * The rate buckets' items in DynamoDB: one consistent read, and single-item conditional writes
 * (no transactions, no TTL). Every guarantee of the rate limiter rests on these conditions,
 * which DynamoDB checks on the item itself.
 */
export class RateBucketTable {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  /** The bucket now (a consistent read). SDK errors are thrown as they are. */
  async read(provider: string): Promise<BucketState> {
    const out = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: rateKey(provider), ConsistentRead: true }));
    return toState(out.Item);
  }

  /** Raises the bucket's pause to `untilMs`; a later pause already there wins. */
  async raisePause(provider: string, untilMs: number): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: rateKey(provider),
          UpdateExpression: "SET pausedUntilMs = :until",
          ConditionExpression: "attribute_not_exists(pausedUntilMs) OR pausedUntilMs < :until",
          ExpressionAttributeValues: { ":until": untilMs },
        }),
      );
    } catch (error) {
      // A later pause is already there: it wins.
      if (!isConditionFailed(error)) throw classifyAwsError(error, "rate limiter UpdateItem");
    }
  }

  /**
   * Takes the next slot with one conditional write and returns the bucket after it. GCRA moves
   * tat to max(tat, floor) + T; an update expression cannot compute a max, so there are two
   * shapes, each guarded by the condition that makes it right:
   *  - queued (tat ≥ floor): atomic `tat = tat + T`. Concurrent increments never conflict with
   *    each other, which is what keeps N busy workers free of compare-and-swap retries. Also
   *    bounded so that the slot stays within the deadline.
   *  - room (tat ≤ floor): `tat = floor + T`, still right if tat moved but stayed ≤ floor.
   * Both also require that no new pause arrived since `pausedSeen` was read. When one fails on
   * tat (ConditionalCheckFailedException, thrown as is), the other holds.
   */
  async reserve(provider: string, { queued, floor, pausedSeen, limit, writes, latestSlot }: Reservation): Promise<BucketState> {
    const pauseUnchanged = pausedSeen === undefined ? "attribute_not_exists(pausedUntilMs)" : "pausedUntilMs = :paused";
    const out = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: rateKey(provider),
        ...(queued
          ? {
              UpdateExpression: "SET tat = tat + :interval",
              // granted = (tat + T) - T - τ ≤ latestSlot
              ConditionExpression: `tat BETWEEN :floor AND :latest AND ${pauseUnchanged}`,
              ExpressionAttributeValues: {
                ":interval": writes * limit.interval,
                ":floor": floor,
                ":latest": Math.max(floor, latestSlot + limit.tolerance),
                ...(pausedSeen !== undefined && { ":paused": pausedSeen }),
              },
            }
          : {
              UpdateExpression: "SET tat = :next",
              ConditionExpression: `(attribute_not_exists(tat) OR tat <= :floor) AND ${pauseUnchanged}`,
              ExpressionAttributeValues: {
                ":next": floor + writes * limit.interval,
                ":floor": floor,
                ...(pausedSeen !== undefined && { ":paused": pausedSeen }),
              },
            }),
        ReturnValues: "ALL_NEW",
      }),
    );
    return toState(out.Attributes);
  }
}

function toState(item: Record<string, unknown> | undefined): BucketState {
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  return { tat: num(item?.tat), pausedUntilMs: num(item?.pausedUntilMs) };
}
