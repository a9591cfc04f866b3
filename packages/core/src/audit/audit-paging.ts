import { InvalidInputError } from "../model/errors.js";

/** Query-string paging shared by every list route: `limit` 1–100 (default 25) and opaque cursors. */

export type Query = Readonly<Record<string, string | undefined>>;

const MAX_LIMIT = 100;

export function limitOf(query: Query): number {
  const raw = query.limit;
  if (raw === undefined) return 25;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new InvalidInputError(`limit: expected an integer from 1 to ${MAX_LIMIT}`);
  return limit;
}

/** Lists held in the config (registries, consumers) page by offset. */
export function offsetOf(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const offset = Number(Buffer.from(cursor, "base64url").toString("utf8").replace(/^o:/, ""));
  if (!/^[A-Za-z0-9_-]+$/.test(cursor) || !Number.isInteger(offset) || offset < 0) throw new InvalidInputError("cursor: not one this API returned");
  return offset;
}

export const offsetCursor = (offset: number) => Buffer.from(`o:${offset}`, "utf8").toString("base64url");

/** A walk over several ledger partitions in turn: which one, and the ledger's own cursor inside it. */
export interface WalkCursor {
  readonly part: number;
  readonly inner?: string;
}

export function encodeWalk(cursor: WalkCursor): string {
  return Buffer.from(JSON.stringify(cursor), "utf8").toString("base64url");
}

export function decodeWalk(cursor: string | undefined): WalkCursor {
  if (cursor === undefined) return { part: 0 };
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Partial<WalkCursor>;
    if (Number.isInteger(value.part) && (value.part as number) >= 0 && (value.inner === undefined || typeof value.inner === "string")) {
      return { part: value.part as number, ...(value.inner !== undefined && { inner: value.inner }) };
    }
  } catch {
    // the one error below
  }
  throw new InvalidInputError("cursor: not one this API returned");
}
