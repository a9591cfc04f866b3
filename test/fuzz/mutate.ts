import fc from "fast-check";

/**
 * Inputs that start valid and are then broken the ways real input breaks: cut short, bytes
 * inserted, types swapped, huge numbers, NUL, lone surrogates and bad UTF-8 or percent-encoding,
 * deep nesting, and keys that name a prototype. Values are JSON as a parser receives it, so an
 * `__proto__` key is an own property (as JSON.parse makes it), never a prototype change.
 */

export const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype", "toString", "valueOf", "hasOwnProperty", "__defineGetter__", "then", "toJSON"] as const;

const ODD_STRINGS = [
  "", " ", "\u0000", "a\u0000b", "\uD800", "x\uDFFF", "\uFFFD", "%", "%zz", "%ff", "%E0%A4%A", "%C0%AF", "%00", "%2F", "..", "../..", "/", "//",
  "null", "true", "1e300", "NaN", "-0", "__proto__", "constructor", "AWSCURRENT", "arn:", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
  "2026-12-02T00:00:00Z", "9999-99-99T99:99:99Z", "\u202E", "\u{1F600}", "\r\n", "\t", "' OR 1=1 --", "<script>", "${x}", "*alias", "&anchor", "!!js/function",
];
const ODD_NUMBERS = [0, -0, 1, -1, 1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e21, 0.5, 4294967296, Number.NaN, Infinity, -Infinity];
const BAD_ESCAPES = ["%", "%z", "%zz", "%ff", "%E0%A4%A", "%C0%AF", "%ED%A0%80", "%00", "%%", "%2", "%uD800"];

/** Bytes that are not UTF-8, as a decoder turns them into text (replacement characters) or latin1 reads them. */
const undecodable = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 24 }), fc.boolean()).map(([b, latin1]) => Buffer.from([0xc3, 0x28, 0xff, ...b]).toString(latin1 ? "latin1" : "utf8"));

export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...ODD_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  undecodable,
  fc.nat({ max: 70_000 }).map((n) => "x".repeat(n)),
);

/** Nested arrays and objects `depth` deep: parsers and validators that recurse must not overflow the stack. */
export function nested(depth: number, leaf: unknown = 0): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

const pollution = (): unknown => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');

export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  fc.constantFrom(...ODD_NUMBERS),
  fc.constantFrom(null, undefined, true, false),
  fc.constant([]),
  fc.constant({}),
  fc.double(),
  fc.integer(),
  fc.integer({ min: 50, max: 2_000 }).map((d) => nested(d)),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(null).map(pollution),
);

export const oddKey: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 12 }), fc.constantFrom("", "\u0000", "%ff", "\uD800"));

/** An own, enumerable property even for `__proto__` (plain assignment would change the prototype instead). */
function put(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

interface Slot {
  readonly parent: Record<PropertyKey, unknown> | unknown[] | undefined;
  readonly key: string | number;
  readonly value: unknown;
}

function slots(root: unknown): Slot[] {
  const out: Slot[] = [{ parent: undefined, key: "", value: root }];
  for (let i = 0; i < out.length && out.length < 400; i++) {
    const { value } = out[i] as Slot;
    if (Array.isArray(value)) for (let k = 0; k < value.length; k++) out.push({ parent: value, key: k, value: value[k] });
    else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) out.push({ parent: value as Record<string, unknown>, key: k, value: v });
  }
  return out;
}

interface Edit {
  readonly at: number;
  readonly op: number;
  readonly key: string;
  readonly value: unknown;
  readonly n: number;
}

const edit: fc.Arbitrary<Edit> = fc.record({ at: fc.nat(), op: fc.nat({ max: 9 }), key: oddKey, value: oddValue, n: fc.nat() });

function swapType(value: unknown, n: number): unknown {
  if (typeof value === "string") return n % 2 === 0 ? Number(value) : [value];
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return Object.fromEntries(Array.from(value, (v, i) => [String(i), v]));
  if (typeof value === "object" && value !== null) return Object.values(value);
  return n % 2 === 0 ? {} : "null";
}

/** In place, without splice: an array given a `constructor` key by an earlier edit has no usable species. */
function removeAt(array: unknown[], index: number): void {
  for (let j = index; j < array.length - 1; j++) array[j] = array[j + 1];
  array.length = Math.max(0, array.length - 1);
}

function applyEdit(root: unknown, e: Edit): unknown {
  const all = slots(root);
  const slot = all[e.at % all.length] as Slot;
  const replace = (value: unknown): unknown => {
    if (slot.parent === undefined) return value;
    if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
    else put(slot.parent, slot.key, value);
    return root;
  };
  const v = slot.value;
  switch (e.op) {
    case 0:
      return replace(e.value);
    case 1:
      if (slot.parent === undefined) return undefined;
      if (Array.isArray(slot.parent)) removeAt(slot.parent, slot.key as number);
      else delete slot.parent[slot.key];
      return root;
    case 2:
      if (typeof v === "object" && v !== null) put(v, e.key, e.value);
      return v === null || typeof v !== "object" ? replace({ [e.key]: e.value }) : root;
    case 3:
      return replace(swapType(v, e.n));
    case 4:
      if (typeof v === "string") return replace(v.slice(0, e.n % (v.length + 1)));
      if (Array.isArray(v)) return replace(Array.from(v).slice(0, e.n % (v.length + 1)));
      return replace(undefined);
    case 5:
      return replace(insertAt(typeof v === "string" ? v : "", e.n, typeof e.value === "string" ? e.value : "\u0000"));
    case 6:
      return replace(nested(100 + (e.n % 1_500), v));
    case 7:
      return replace(ODD_NUMBERS[e.n % ODD_NUMBERS.length]);
    case 8:
      if (typeof v === "object" && v !== null) put(v, PROTOTYPE_KEYS[e.n % PROTOTYPE_KEYS.length] as string, pollution());
      return root;
    default:
      return replace(typeof v === "string" ? v.repeat(Math.min(1 + (e.n % 2_000), Math.ceil(200_000 / Math.max(1, v.length)))) : [v, v, v]);
  }
}

const clone = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** A seed, chosen at random, with one to four random edits anywhere in it. */
export function mutatedValue(seeds: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([seed, edits]) => edits.reduce(applyEdit, clone(seed)));
}

function insertAt(text: string, at: number, piece: string): string {
  const i = at % (text.length + 1);
  return text.slice(0, i) + piece + text.slice(i);
}

interface TextEdit {
  readonly op: number;
  readonly at: number;
  readonly len: number;
  readonly piece: string;
}

const textEdit: fc.Arbitrary<TextEdit> = fc.record({ op: fc.nat({ max: 8 }), at: fc.nat(), len: fc.nat({ max: 64 }), piece: oddString });

function applyTextEdit(text: string, e: TextEdit): string {
  const i = e.at % (text.length + 1);
  switch (e.op) {
    case 0:
      return text.slice(0, i);
    case 1:
      return insertAt(text, e.at, e.piece);
    case 2:
      return text.slice(0, i) + text.slice(i + e.len);
    case 3:
      return (text.slice(0, i + e.len) + text.slice(i)).slice(0, 300_000);
    case 4:
      return `${text.slice(0, i)}\u0000${text.slice(i + 1)}`;
    case 5:
      return insertAt(text, e.at, BAD_ESCAPES[e.len % BAD_ESCAPES.length] as string);
    case 6:
      return insertAt(text, e.at, e.len % 2 === 0 ? "\uD800" : "\uDC00");
    case 7: {
      // A flipped byte in the UTF-8 encoding, read back as UTF-8: what a corrupted transfer delivers.
      const bytes = Buffer.from(text, "utf8");
      if (bytes.length === 0) return text;
      const j = e.at % bytes.length;
      bytes[j] = (bytes[j] as number) ^ (1 + (e.len % 255));
      return bytes.toString("utf8");
    }
    default:
      return (text.slice(0, i) + text.slice(i, i + e.len + 1).repeat(1 + (e.at % 5_000))).slice(0, 300_000) + text.slice(i + e.len + 1);
  }
}

/** JSON text of any value; past what JSON.stringify can recurse into, brackets that deep (what such a body would hold). */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "undefined";
  } catch {
    return `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
  }
}

/** A seed text with one to four random edits. */
export function mutatedText(seeds: readonly string[], maxLength = 300_000): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(textEdit, { minLength: 1, maxLength: 4 })).map(([seed, edits]) => edits.reduce(applyTextEdit, seed).slice(0, maxLength));
}

/** JSON text of a mutated value, sometimes broken further as text. */
export function mutatedJsonText(seeds: readonly unknown[]): fc.Arbitrary<string> {
  const asText = mutatedValue(seeds).map(jsonText);
  return fc.oneof(asText, mutatedText(seeds.map((s) => JSON.stringify(s))), asText.chain((t) => mutatedText([t])));
}
