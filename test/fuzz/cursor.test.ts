import fc from "fast-check";
import { describe, it } from "vitest";
import { decodeCursor, encodeCursor, InvalidCursorError } from "../../packages/aws/src/cursor.js";
import { jsonText, mutatedText, mutatedValue, oddKey, oddValue } from "./mutate.js";
import { check, parsedOrRefused } from "./outcomes.js";
import { FUZZ_TIMEOUT_MS, fuzz } from "./settings.js";

/**
 * Cursor decoding (packages/aws/src/cursor.ts): a cursor is whatever a client sends back, so only a
 * key DynamoDB can take as ExclusiveStartKey comes out, or an InvalidCursorError — nothing else.
 */

/** Keys as the ledger's queries hand them out: table keys, plus an index's. */
const KEYS = [
  { pk: "REG#prod-ecr", sk: "H#2026-12-02T16:00:00.000Z#0001" },
  { pk: "REG#prod-ecr", sk: "CONSUMER#ci" },
  { pk: "REG#prod-ecr", sk: "ENV#ci.ws-1", gsi1pk: "STALE#prod-ecr", gsi1sk: "2026-12-02T16:00:00.000Z" },
  { pk: "REG#hub", sk: "V#4e5f6a7b", n: 42 },
];

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url");
const keyLike = fc.dictionary(fc.oneof(fc.constantFrom("pk", "sk", "gsi1pk", "gsi1sk", "n"), oddKey), fc.oneof(oddValue, fc.string({ maxLength: 30 })), { maxKeys: 6 });

const cursors = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,400}$/),
  fc.jsonValue({ maxDepth: 3 }).map((v) => b64(JSON.stringify(v))),
  keyLike.map((k) => b64(jsonText(k))),
  mutatedValue(KEYS).map((k) => b64(jsonText(k))),
  mutatedText(KEYS.map(encodeCursor)),
  mutatedText(KEYS.map((k) => JSON.stringify(k))).map(b64),
);

describe("fuzz: cursor decoding", () => {
  it("hands back the keys it encoded", () => {
    for (const key of KEYS) check(JSON.stringify(decodeCursor(encodeCursor(key))) === JSON.stringify(key), `round trip of ${JSON.stringify(key)}`);
  });

  it("yields a key DynamoDB can start from, or an InvalidCursorError", () => {
    fuzz(cursors, (cursor) => {
      const key = parsedOrRefused(() => decodeCursor(cursor), InvalidCursorError);
      if (key === undefined) return;
      check(typeof key === "object" && key !== null && !Array.isArray(key) && Object.getPrototypeOf(key) === Object.prototype, "a plain object");
      const entries = Object.entries(key);
      check(entries.length >= 1 && entries.length <= 4, "1 to 4 attributes");
      for (const [name, value] of entries) {
        check(/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name), `attribute name ${JSON.stringify(name)}`);
        check((typeof value === "string" && value.length > 0 && value.length <= 2048) || Number.isSafeInteger(value), `attribute ${name}: a string or a safe integer`);
      }
      check(JSON.stringify(decodeCursor(encodeCursor(key))) === JSON.stringify(key), "what it decodes, it encodes back");
    });
  }, FUZZ_TIMEOUT_MS);
});
