import type { z } from "zod";
import { InvalidInputError } from "../model/errors.js";
import { didYouMean, nearest } from "./suggest.js";
import { formatPath } from "../model/validation.js";

/**
 * One problem of a config file: where it is in the document (`path`) and, when the file's text
 * is known, where that is in the text, so an editor can jump to it.
 */
export interface ConfigIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** 1-based; absent when only the parsed document was checked (no text to point into). */
  readonly line?: number;
  readonly column?: number;
}

/** A problem before it is placed: `key` points at an unknown key itself, `value` at what the path holds (or, when that is missing, at the map that lacks it). */
export interface PathIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly at?: "key" | "value";
  /** An unknown key's nearest known key; a missing key of the same map is then not reported apart. */
  readonly suggests?: string;
  /** A required key that is absent. */
  readonly missing?: boolean;
}

/** `pullkeeper.yaml:12:7 consumers[0].target.pth: unknown key "pth" (did you mean "path"?)`; without a position, `consumers[0].target.pth: ...`. */
export function formatConfigIssue(issue: ConfigIssue, file: string): string {
  const where = formatPath(issue.path) || "(top level)";
  return issue.line === undefined ? `${where}: ${issue.message}` : `${file}:${issue.line}:${issue.column ?? 1} ${where}: ${issue.message}`;
}

/** A config file that is not valid: `issues` as strings (what the CLI prints), `located` the same issues structured. */
export class ConfigError extends InvalidInputError {
  constructor(
    readonly file: string,
    readonly located: readonly ConfigIssue[],
  ) {
    const issues = located.map((issue) => formatConfigIssue(issue, file));
    super(`${file} is not valid:\n  ${issues.join("\n  ")}`, issues);
  }
}

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  items?: z.ZodType[];
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  getter?: () => z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
};

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const child = (data: unknown, key: string | number): unknown => (data !== null && typeof data === "object" ? (data as Record<string | number, unknown>)[key] : undefined);

/** The schema that applies to `data`, through wrappers (optional, default, transforms) and unions (the option the discriminator picks). */
function unwrap(schema: z.ZodType, data: unknown): z.ZodType[] {
  const def = defOf(schema);
  if (def.innerType) return unwrap(def.innerType, data);
  if (def.type === "pipe" && def.in) return unwrap(def.in, data);
  if (def.type === "lazy" && def.getter) return unwrap(def.getter(), data);
  if (def.type === "union" && def.options) {
    const options = def.options.flatMap((o) => unwrap(o, data));
    if (def.discriminator !== undefined) {
      const tag = child(data, def.discriminator);
      const picked = options.filter((o) => defOf(defOf(o).shape?.[def.discriminator as string] ?? o).values?.includes(tag));
      if (picked.length > 0) return picked;
    }
    return options;
  }
  return [schema];
}

/** The keys the object schema at `path` knows (of every union option that may apply). */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[], data: unknown): string[] {
  let schemas = [schema];
  let value = data;
  for (const key of path) {
    schemas = schemas.flatMap((s) => unwrap(s, value)).flatMap((s) => {
      const def = defOf(s);
      if (def.shape && typeof key === "string") return def.shape[key] ? [def.shape[key]] : [];
      if (def.element) return [def.element];
      if (def.items && typeof key === "number") return def.items[key] ? [def.items[key]] : [];
      if (def.valueType) return [def.valueType];
      return [];
    });
    value = child(value, key as string | number);
  }
  return [...new Set(schemas.flatMap((s) => unwrap(s, value)).flatMap((s) => Object.keys(defOf(s).shape ?? {})))];
}

/**
 * zod's issues as config issues: one per unknown key (with the nearest known key), a missing key
 * said so, and a value outside an enum or a union's tags with the nearest allowed one.
 */
export function zodIssues(error: z.ZodError, schema: z.ZodType, data: unknown, prefix: readonly (string | number)[] = []): PathIssue[] {
  return withoutImpliedMissing(error.issues.flatMap((issue): PathIssue[] => {
    const path = issue.path.filter((k): k is string | number => typeof k !== "symbol");
    const at = (...rest: (string | number)[]) => [...prefix, ...path, ...rest];
    const value = path.reduce<unknown>((v, key) => child(v, key), data);
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = knownKeys(schema, path, data);
        return issue.keys.map((key) => {
          const suggests = nearest(key, known);
          return { path: at(key), message: `unknown key "${key}"${suggests === undefined ? "" : ` (did you mean "${suggests}"?)`}`, at: "key" as const, ...(suggests !== undefined && { suggests }) };
        });
      }
      case "invalid_type":
        if (value === undefined && path.length > 0) return [{ path: at(), message: `missing key "${String(path[path.length - 1])}" (expected ${issue.expected})`, missing: true }];
        break;
      case "invalid_value":
        if (typeof value === "string") return [{ path: at(), message: `${issue.message}${didYouMean(value, issue.values.filter((v): v is string => typeof v === "string"))}` }];
        break;
      case "invalid_union": {
        const options = (issue as { options?: unknown[] }).options;
        if (options && typeof value === "string") return [{ path: at(), message: `${issue.message}${didYouMean(value, options.filter((v): v is string => typeof v === "string"))}` }];
        if (options && value === undefined) return [{ path: at(), message: `missing key "${String(path[path.length - 1])}": ${issue.message}` }];
        break;
      }
    }
    return [{ path: at(), message: issue.message }];
  }));
}

/** `pth:` where `path` is required is one mistake: the unknown key says "did you mean path?", so the missing `path` is not reported apart. */
function withoutImpliedMissing(issues: PathIssue[]): PathIssue[] {
  const parent = (path: readonly (string | number)[]) => JSON.stringify(path.slice(0, -1));
  const suggested = new Set(issues.filter((i) => i.suggests !== undefined).map((i) => `${parent(i.path)}#${i.suggests}`));
  return issues.filter((i) => !(i.missing === true && suggested.has(`${parent(i.path)}#${String(i.path[i.path.length - 1])}`)));
}
