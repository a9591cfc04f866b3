/** GitHub's OpenAPI description (@octokit/openapi) as a request checker: finds the operation for method + path and lists every departure. */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly nullable?: boolean;
}

interface Operation {
  readonly parameters?: readonly { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  readonly requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
}

export interface PathEntry {
  readonly template: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
  readonly literalSegments: number;
  readonly operations: Readonly<Record<string, Operation>>;
}

let specPaths: Promise<PathEntry[]> | undefined;

/** Paths of GitHub's dereferenced OpenAPI description, most specific template first. Parsed once per process. */
export function openApiPaths(): Promise<PathEntry[]> {
  specPaths ??= (async () => {
    const require = createRequire(import.meta.url);
    const file = require.resolve("@octokit/openapi/generated/api.github.com.deref.json");
    const spec = JSON.parse(await readFile(file, "utf8")) as { paths: Record<string, Record<string, Operation>> };
    const entries = Object.entries(spec.paths).map(([template, operations]): PathEntry => {
      const names: string[] = [];
      const source = template
        .split("/")
        .map((segment) =>
          segment.replace(/\{(\w+)\}|[^{}]+/g, (m, name: string | undefined) => {
            if (name === undefined) return m.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
            names.push(name);
            return "([^/]+)";
          }),
        )
        .join("/");
      return { template, regex: new RegExp(`^${source}$`), names, literalSegments: template.split("/").filter((s) => s !== "" && !s.includes("{")).length, operations };
    });
    return entries.sort((a, b) => b.literalSegments - a.literalSegments || a.names.length - b.names.length);
  })();
  return specPaths;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** Problems with `value` against `schema` (the subset of JSON Schema GitHub's secret endpoints use). */
function check(value: unknown, schema: JsonSchema | undefined, at: string): string[] {
  if (schema === undefined) return [];
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined) {
    return alternatives.some((s) => check(value, s, at).length === 0) ? [] : [`${at}: ${JSON.stringify(value)} matches none of the allowed schemas`];
  }
  const problems: string[] = [];
  if (schema.type !== undefined) {
    const allowed = typeof schema.type === "string" ? [schema.type] : schema.type;
    const actual = typeOf(value);
    const ok = allowed.includes(actual) || (actual === "integer" && allowed.includes("number")) || (actual === "null" && schema.nullable === true);
    if (!ok) return [`${at}: expected ${allowed.join("|")}, got ${actual}`];
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.pattern !== undefined && typeof value === "string" && !new RegExp(schema.pattern, "u").test(value)) problems.push(`${at}: does not match ${schema.pattern}`);
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((v, i) => problems.push(...check(v, schema.items, `${at}[${i}]`)));
  if (typeOf(value) === "object" && schema.properties !== undefined) {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) problems.push(`${at}: missing required property ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      const prop = schema.properties[k];
      if (prop === undefined) problems.push(`${at}: property ${k} is not in the OpenAPI description`);
      else problems.push(...check(v, prop, `${at}.${k}`));
    }
  }
  return problems;
}

/** The operation for method + path, and every way the request departs from it (query parameters too, when given). */
export async function validateRequest(method: string, path: string, body: unknown, query?: URLSearchParams): Promise<{ operation: string | undefined; problems: string[] }> {
  const paths = await openApiPaths();
  const m = method.toLowerCase();
  for (const entry of paths) {
    const match = entry.regex.exec(path);
    if (match === null) continue;
    const op = entry.operations[m];
    if (op === undefined) continue;
    const operation = `${method.toUpperCase()} ${entry.template}`;
    const problems: string[] = [];
    const values = Object.fromEntries(entry.names.map((n, i) => [n, decodeURIComponent(match[i + 1] ?? "")]));
    for (const p of op.parameters ?? []) {
      if (p.in !== "path") continue;
      const v = values[p.name];
      if (p.required === true && (v === undefined || v === "")) problems.push(`${operation}: path parameter ${p.name} is required`);
    }
    for (const [name, value] of query ?? []) {
      const p = (op.parameters ?? []).find((q) => q.in === "query" && q.name === name);
      if (p === undefined) problems.push(`${operation}: query parameter ${name} is not in the OpenAPI description`);
      else if ((p.schema?.type === "integer" || p.schema?.type === "number") && !/^-?\d+$/.test(value)) problems.push(`${operation}: query parameter ${name}=${value} is not an integer`);
    }
    const schema = op.requestBody?.content?.["application/json"]?.schema;
    if (op.requestBody !== undefined) {
      if (body === undefined) {
        if (op.requestBody.required === true) problems.push(`${operation}: a JSON body is required`);
      } else {
        problems.push(...check(body, schema, `${operation} body`));
      }
    } else if (body !== undefined && m !== "get") {
      problems.push(`${operation}: takes no body`);
    }
    return { operation, problems };
  }
  return { operation: undefined, problems: [`${method} ${path}: no such operation in GitHub's OpenAPI description`] };
}
