import { isDeepStrictEqual } from "node:util";

/**
 * Sets `doc[outer][key] = value` in the JSON text of an object, changing no other byte.
 *
 * Why a textual splice rather than parse → modify → JSON.stringify: re-serializing a docker
 * config.json rewrites whatever the writer chose — key order of duplicate keys, `\u` escapes,
 * number spellings (`1.0`, `1e3`), spacing inside arrays, CRLF line ends, a trailing newline —
 * and the file is shared with docker, credential helpers and people. So the text is scanned for
 * the byte ranges of the members involved, and only the one entry's value is replaced (or the
 * one member inserted after the last existing one, indented like the file). The result is then
 * parsed and compared with the intended document; if they differ for any reason (a layout the
 * scanner did not foresee), the caller falls back to a full re-serialization with the file's
 * detected indentation, which is still correct, just less polite.
 */
export function spliceMember(text: string, doc: Record<string, unknown>, outer: string, key: string, value: unknown): string | undefined {
  const style = detectStyle(text);
  const rootOpen = skipWs(text, 0);
  if (text[rootOpen] !== "{") return undefined;
  const root = scanObject(text, rootOpen);
  const outerMember = last(root.members.filter((m) => m.key === outer));
  let out: string;
  if (outerMember === undefined) {
    out = insertMember(text, root, 1, outer, { [key]: value }, style);
  } else if (text[outerMember.valueStart] === "{") {
    const inner = scanObject(text, outerMember.valueStart);
    const entry = last(inner.members.filter((m) => m.key === key));
    out =
      entry === undefined
        ? insertMember(text, inner, 2, key, value, style)
        : text.slice(0, entry.valueStart) + format(value, 2, style) + text.slice(entry.valueEnd);
  } else if (text.startsWith("null", outerMember.valueStart)) {
    out = text.slice(0, outerMember.valueStart) + format({ [key]: value }, 1, style) + text.slice(outerMember.valueEnd);
  } else {
    return undefined;
  }
  const expected = { ...doc, [outer]: { ...((doc[outer] as Record<string, unknown> | null) ?? {}), [key]: value } };
  try {
    return isDeepStrictEqual(JSON.parse(out), expected) ? out : undefined;
  } catch {
    return undefined;
  }
}

/** The whole document re-serialized the way the file was written (indent unit, line ends, final newline). */
export function reserialize(text: string, doc: unknown): string {
  const style = detectStyle(text);
  const body = style.indent === "" ? JSON.stringify(doc) : JSON.stringify(doc, null, style.indent).split("\n").join(style.newline);
  return body + (/\r?\n\s*$/.test(text) ? style.newline : "");
}

/** A new file as docker writes one: tab-indented, no final newline. */
export function newDocument(doc: unknown): string {
  return JSON.stringify(doc, null, "\t");
}

export interface Style {
  /** One level of indentation ("\t", "  ", "    "…), or "" for a single-line file. */
  readonly indent: string;
  readonly newline: string;
}

export function detectStyle(text: string): Style {
  const newline = text.includes("\r\n") ? "\r\n" : "\n";
  const first = /\{[ \t]*\r?\n([ \t]+)["}]/.exec(text);
  return { indent: first?.[1] ?? "", newline };
}

interface Member {
  readonly key: string;
  readonly keyEnd: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

interface ObjectScan {
  readonly open: number;
  readonly close: number;
  readonly members: Member[];
}

/** `value` laid out as the file would have it with its first line at nesting `depth`. */
function format(value: unknown, depth: number, style: Style): string {
  if (style.indent === "") return JSON.stringify(value);
  return JSON.stringify(value, null, style.indent)
    .split("\n")
    .join(style.newline + style.indent.repeat(depth));
}

/** Appends `"key": value` as the last member of the object, spaced like its siblings. */
function insertMember(text: string, obj: ObjectScan, depth: number, key: string, value: unknown, style: Style): string {
  const prev = last(obj.members);
  if (prev === undefined) {
    // An empty object (`{}` or `{ }`): only its own braces are rewritten.
    return text.slice(0, obj.open) + format({ [key]: value }, depth - 1, style) + text.slice(obj.close + 1);
  }
  const beforePrev = obj.members.length >= 2 ? obj.members[obj.members.length - 2] : undefined;
  // Between members: copied from the last pair when there is one, else the file's style.
  const between =
    beforePrev !== undefined
      ? text.slice(beforePrev.valueEnd, skipWs(text, skipComma(text, skipWs(text, beforePrev.valueEnd))))
      : style.indent === ""
        ? ","
        : `,${style.newline}${style.indent.repeat(depth)}`;
  const separator = text.slice(prev.keyEnd, prev.valueStart);
  const member = `${JSON.stringify(key)}${separator}${format(value, depth, style)}`;
  return text.slice(0, prev.valueEnd) + between + member + text.slice(prev.valueEnd);
}

/** The members of the object whose `{` is at `open`, in order (text known to be valid JSON). */
function scanObject(text: string, open: number): ObjectScan {
  const members: Member[] = [];
  let i = skipWs(text, open + 1);
  if (text[i] === "}") return { open, close: i, members };
  for (;;) {
    const keyStart = i;
    const keyEnd = skipString(text, keyStart);
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    i = skipWs(text, skipWs(text, keyEnd) + 1); // past ':'
    const valueStart = i;
    const valueEnd = skipValue(text, valueStart);
    members.push({ key, keyEnd, valueStart, valueEnd });
    i = skipWs(text, valueEnd);
    if (text[i] !== ",") return { open, close: i, members };
    i = skipWs(text, i + 1);
  }
}

function skipWs(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  return i;
}

function skipComma(text: string, i: number): number {
  return text[i] === "," ? i + 1 : i;
}

function skipString(text: string, i: number): number {
  i++; // opening quote
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  return i;
}

function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"') {
        i = skipString(text, i);
        continue;
      }
      if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < text.length && !",}] \t\r\n".includes(text[i] as string)) i++;
  return i;
}

function last<T>(items: readonly T[]): T | undefined {
  return items[items.length - 1];
}
