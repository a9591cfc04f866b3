import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { InvalidInputError } from "../model/errors.js";
import { ConfigError, type ConfigIssue, formatConfigIssue, type PathIssue } from "./config-issues.js";

/*
 * Config issues placed at their line and column in the YAML text. Apart from config-issues.ts so
 * that what reads a config without its text (the functions read the deploy's JSON) never loads yaml.
 */

/** Places issues found on the parsed config (deploy-time checks) in the file's text it came from. */
export function locateInText(text: string, issues: readonly PathIssue[]): ConfigIssue[] {
  const lines = new LineCounter();
  return locateIssues(issues, parseDocument(text, { lineCounter: lines }), lines);
}

/** Throws the issues found on a checked config: at their line and column when the file's text is given, else by path. */
export function throwConfigIssues(file: string, issues: readonly PathIssue[], text?: string): never {
  if (text !== undefined) throw new ConfigError(file, locateInText(text, issues));
  const lines = issues.map((issue) => formatConfigIssue(issue, file));
  throw new InvalidInputError(`${file} is not valid:\n  ${lines.join("\n  ")}`, lines);
}

/**
 * Places issues in the YAML text. A missing key points at the map that lacks it, an unknown key
 * at the key itself, anything else at the value. Aliases are followed to their anchor.
 */
export function locateIssues(issues: readonly PathIssue[], doc: Document, lines: LineCounter): ConfigIssue[] {
  const position = (node: unknown) => {
    const offset = (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
    const pos = offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const place = (path: readonly (string | number)[], at: "key" | "value"): { line: number; column: number } => {
    let node: unknown = doc.contents;
    let key: unknown;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment));
        if (!pair) return position(node);
        key = pair.key;
        // `pth:` with nothing after it has no value node: point at its key.
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof segment === "number" && node.items[segment] !== undefined) {
        key = undefined;
        node = node.items[segment];
      } else {
        return position(node ?? key);
      }
    }
    return position(at === "key" && key !== undefined ? key : node);
  };
  const located = issues.map((issue): ConfigIssue & { line: number; column: number } => ({ path: issue.path, message: issue.message, ...place(issue.path, issue.at ?? "value") }));
  // In the file's order, as an editor lists them (stable: same-place issues keep theirs).
  return located.sort((a, b) => a.line - b.line || a.column - b.column);
}
