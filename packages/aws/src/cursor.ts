import { InvalidInputError } from "@pullkeeper/core";

type Key = Record<string, unknown>;

/** Pagination cursors are DynamoDB's LastEvaluatedKey, opaque to callers (base64url JSON). */
export function encodeCursor(lastKey: Key): string {
  return Buffer.from(JSON.stringify(lastKey), "utf8").toString("base64url");
}

/** A key of this table: 1–4 attributes (table and index keys), short names, strings or safe integers. */
function isKey(value: unknown): value is Key {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length >= 1 &&
    entries.length <= 4 &&
    entries.every(([name, v]) => /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) && ((typeof v === "string" && v.length > 0 && v.length <= 2048) || Number.isSafeInteger(v)))
  );
}

/**
 * The ExclusiveStartKey a cursor carries. Anything else — not base64url JSON, not a key's shape, a
 * number the SDK would refuse to marshal — is the caller's mistake, said as such (400), never sent.
 */
export function decodeCursor(cursor: string): Key {
  if (/^[A-Za-z0-9_-]{1,8192}$/.test(cursor)) {
    try {
      const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
      if (isKey(value)) return value;
    } catch {
      // fall through to the one error below
    }
  }
  throw new InvalidCursorError();
}

/** A cursor this API did not hand out (or one DynamoDB finds does not fit the query). */
export class InvalidCursorError extends InvalidInputError {
  constructor() {
    super("cursor: not one this API returned");
  }
}
