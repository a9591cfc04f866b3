/** One challenge from a WWW-Authenticate header (RFC 7235): `Bearer realm="…",service="…"`. */
export interface Challenge {
  /** Lower-cased: schemes are case-insensitive. */
  readonly scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses every challenge in a WWW-Authenticate value. fetch joins repeated headers with ", ",
 * so one string may hold several challenges, and quoted values may themselves hold commas
 * (a Bearer `scope` listing several actions does), so splitting on commas is not enough.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let pos = 0;

  const skip = (chars: RegExp): void => {
    while (pos < header.length && chars.test(header.charAt(pos))) pos++;
  };
  const token = (): string => {
    const start = pos;
    skip(TOKEN_CHAR);
    return header.slice(start, pos);
  };
  // RFC 7235 wants a bare value to be a token, but servers send unquoted URLs; take up to the comma.
  const bare = (): string => {
    const start = pos;
    skip(/[^\s,]/);
    return header.slice(start, pos);
  };
  const quoted = (): string => {
    let value = "";
    pos++; // opening quote
    while (pos < header.length && header.charAt(pos) !== '"') {
      if (header.charAt(pos) === "\\") pos++;
      value += header.charAt(pos);
      pos++;
    }
    pos++; // closing quote
    return value;
  };

  while (pos < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === "") {
      pos++; // a stray character: step over it rather than give up on the rest
      continue;
    }
    const params: Record<string, string> = {};
    challenges.push({ scheme: scheme.toLowerCase(), params });

    for (;;) {
      skip(/[\s,]/);
      const start = pos;
      const name = token();
      skip(/\s/);
      if (name === "" || header.charAt(pos) !== "=") {
        // Not `name=value`: the next challenge's scheme (or a token68 we have no use for).
        pos = start;
        break;
      }
      pos++;
      skip(/\s/);
      params[name.toLowerCase()] = header.charAt(pos) === '"' ? quoted() : bare();
    }
  }
  return challenges;
}
