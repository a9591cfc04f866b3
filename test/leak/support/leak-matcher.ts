/**
 * How a credential value can show up in captured bytes, and the search for it. A value is looked
 * for raw, JSON-escaped, percent-encoded, as base64 and base64url at each of the three alignments
 * it can have inside a longer blob, and (with its username) as a docker `auth` string.
 */

export interface Needle {
  /** Which encoding this is, for the report: "raw", "base64@1", "docker-auth"… */
  readonly form: string;
  readonly text: string;
}

/**
 * The part of base64(prefix + value + anything) that depends only on `value`'s bytes, for a
 * prefix of `shift` bytes: character i carries bits [6i, 6i+6), kept only when they all fall
 * inside the value. So the result is found in any base64 stream that carries the value at that
 * byte offset modulo 3, whatever comes before or after it.
 */
export function alignedBase64(value: Buffer, shift: number, alphabet: "base64" | "base64url"): string {
  const encoded = Buffer.concat([Buffer.alloc(shift), value]).toString(alphabet).replace(/=+$/, "");
  const first = Math.ceil((8 * shift) / 6);
  const last = Math.floor((8 * (shift + value.length)) / 6); // exclusive
  return encoded.slice(first, last);
}

/** Shorter than this, an aligned encoding would match by chance in a few megabytes of base64. */
const MIN_ENCODED = 12;

export function needlesFor(value: string, username?: string): Needle[] {
  const bytes = Buffer.from(value, "utf8");
  const out: Needle[] = [{ form: "raw", text: value }];
  const add = (form: string, text: string) => {
    if (text.length >= MIN_ENCODED && !out.some((n) => n.text === text)) out.push({ form, text });
  };
  add("json-escaped", JSON.stringify(value).slice(1, -1));
  add("percent-encoded", encodeURIComponent(value));
  // base64url is searched only where it differs from base64 (the value's bytes give a + or /).
  for (const alphabet of ["base64", "base64url"] as const) {
    for (const shift of [0, 1, 2]) add(`${alphabet}@${shift}`, alignedBase64(bytes, shift, alphabet));
  }
  if (username !== undefined) {
    const auth = Buffer.from(`${username}:${value}`, "utf8").toString("base64");
    add("docker-auth", auth);
    // A docker config inside a base64 blob (a Kubernetes Secret's .dockerconfigjson): base64 twice.
    for (const shift of [0, 1, 2]) add(`docker-auth-in-base64@${shift}`, alignedBase64(Buffer.from(auth, "ascii"), shift, "base64"));
  }
  return out;
}

export interface Finding {
  readonly where: string;
  readonly value: string;
  readonly form: string;
  readonly offset: number;
}

/**
 * Every needle of `value` found in `haystack`, compared byte for byte: a string haystack is taken
 * as bytes already decoded as latin1 (what Buffer#toString("latin1") gives), and each needle's
 * UTF-8 bytes are looked for in it.
 */
export function findValue(haystack: Buffer | string, value: string, username?: string, where = "input"): Finding[] {
  const text = typeof haystack === "string" ? haystack : haystack.toString("latin1");
  const findings: Finding[] = [];
  for (const needle of needlesFor(value, username)) {
    const offset = text.indexOf(Buffer.from(needle.text, "utf8").toString("latin1"));
    if (offset >= 0) findings.push({ where, value, form: needle.form, offset });
  }
  return findings;
}
