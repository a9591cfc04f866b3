import { InvalidInputError } from "@pullkeeper/core";

type Key = Record<string, unknown>;

/** Pagination cursors are DynamoDB's LastEvaluatedKey, opaque to callers (base64url JSON). */
export function encodeCursor(lastKey: Key): string {
  return Buffer.from(JSON.stringify(lastKey), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): Key {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string" || typeof v === "number")) {
      return value as Key;
    }
  } catch {
    // fall through to the one error below
  }
  throw new InvalidInputError("cursor is not one this API returned");
}
