import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { coerce, type Definitions, describe, type Mode, propertiesOf, type Schema, toJsonSchema, undeclaredProperties } from "./provider-spec-schema.js";

/**
 * Checks a request a provider stand-in received against the provider's published API
 * description, as extracted into test/fixtures/provider-specs/<provider>.json by
 * scripts/extract-provider-specs.ts (origins and licences in that folder's SOURCES.md).
 *
 * `check()` finds the operation for method + path (base path included), and reports: a path no
 * operation has, a method the path does not have, a required path, query or header parameter
 * missing or of the wrong shape, a query parameter the operation does not declare, a body the
 * operation takes none of, a missing required body, a content type it does not accept, and a body
 * that does not validate against the request schema (ajv, every error) or carries a property the
 * schema does not declare. Swagger 2.0 `x-nullable` and OpenAPI 3.0 `nullable` allow null;
 * `readOnly` properties are never required in a request (nor `writeOnly` ones in a response).
 * A stand-in answers a request with violations 400 (or 422) and records them, and the test
 * asserts there were none, as the GitHub stand-in does with @octokit/openapi.
 */

export const PROVIDER_SPECS = ["docker-hub", "harbor", "quay", "azure-acr", "gitlab", "google", "jfrog"] as const;
export type ProviderSpecName = (typeof PROVIDER_SPECS)[number];

export type { Schema };

export interface SpecParameter {
  readonly in: "path" | "query" | "header" | "cookie";
  readonly name: string;
  readonly required: boolean;
  readonly schema: Schema;
  readonly collectionFormat?: string;
}

export interface SpecOperation {
  readonly method: string;
  /** The full path template, base path included. */
  readonly path: string;
  readonly operationId?: string;
  readonly parameters: readonly SpecParameter[];
  readonly requestBody?: { readonly contentTypes: readonly string[]; readonly required: boolean; readonly schema: Schema };
  /** The 2xx answers the description declares, by status. */
  readonly responses: Readonly<Record<string, { readonly schema?: Schema; readonly headers?: readonly string[] }>>;
  /** Google's operations: the host they are served from. */
  readonly server?: string;
}

export interface ProviderSpecFile {
  readonly origin: Readonly<Record<string, unknown>>;
  readonly basePath: string;
  /** Keyed "METHOD /full/path/{template}". */
  readonly operations: Readonly<Record<string, SpecOperation>>;
  readonly definitions: Definitions;
  readonly securitySchemes?: Readonly<Record<string, Schema>>;
}

export interface SpecCheck {
  /** "METHOD /full/path/{template}", or undefined when no operation has this method and path. */
  readonly operation: string | undefined;
  readonly violations: string[];
}

export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export const PROVIDER_SPECS_DIR = new URL("../fixtures/provider-specs/", import.meta.url);

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

interface Route {
  readonly id: string;
  readonly operation: SpecOperation;
  readonly regex: RegExp;
  readonly names: readonly string[];
  readonly literalLength: number;
}

const loaded = new Map<string, ProviderSpec>();

/** The extracted description of one provider, parsed once per process. */
export function loadProviderSpec(provider: ProviderSpecName): ProviderSpec {
  let spec = loaded.get(provider);
  if (spec === undefined) {
    const file = JSON.parse(readFileSync(new URL(`${provider}.json`, PROVIDER_SPECS_DIR), "utf8")) as ProviderSpecFile;
    spec = new ProviderSpec(provider, file);
    loaded.set(provider, spec);
  }
  return spec;
}

export class ProviderSpec {
  readonly #routes: Route[];
  readonly #ajv: Ajv;
  readonly #compiled = new Map<string, ValidateFunction>();
  readonly #queryKeys: ReadonlySet<string>;

  constructor(
    readonly name: string,
    readonly file: ProviderSpecFile,
  ) {
    this.#routes = Object.entries(file.operations)
      .map(([id, operation]) => route(id, operation))
      // Most literal characters first: `/robots/{id}/regenerate` before `/robots/{id}`.
      .sort((a, b) => b.literalLength - a.literalLength || a.id.localeCompare(b.id));
    // unicodeRegExp off: Swagger patterns are ECMA 262 without the `u` flag's stricter escapes.
    this.#ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false, validateSchema: false });
    addFormats(this.#ajv);
    this.#ajv.addFormat("google-duration", /^-?\d+(?:\.\d{1,9})?s$/);
    this.#ajv.addFormat("google-datetime", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/);
    // An API key sent as a query parameter (GitLab's `private_token`) is declared by the security scheme, not the operation.
    this.#queryKeys = new Set(
      Object.values(file.securitySchemes ?? {})
        .filter((s) => s.type === "apiKey" && s.in === "query")
        .map((s) => String(s.name)),
    );
  }

  get operations(): readonly string[] {
    return Object.keys(this.file.operations).sort();
  }

  operation(id: string): SpecOperation {
    const op = this.file.operations[id];
    if (op === undefined) throw new Error(`${this.name}: no operation ${id}`);
    return op;
  }

  /** The operation for method + path (base path included, no query), with the path parameters' values. */
  match(method: string, path: string): { id: string; operation: SpecOperation; pathValues: Record<string, string> } | undefined {
    const m = method.toUpperCase();
    for (const r of this.#routes) {
      if (r.operation.method !== m) continue;
      const found = r.regex.exec(path);
      if (found === null) continue;
      const pathValues = Object.fromEntries(r.names.map((n, i) => [n, safeDecode(found[i + 1] ?? "")]));
      return { id: r.id, operation: r.operation, pathValues };
    }
    return undefined;
  }

  /** Every way the request departs from the provider's description. */
  check(method: string, path: string, query: URLSearchParams = new URLSearchParams(), body?: unknown, headers: RequestHeaders = {}): SpecCheck {
    const matched = this.match(method, path);
    if (matched === undefined) {
      const others = this.#routes.filter((r) => r.regex.test(path)).map((r) => r.operation.method);
      const why =
        others.length > 0 ? `the ${this.name} description has only ${[...new Set(others)].sort().join(", ")} on this path` : `no operation in the ${this.name} description has this path`;
      return { operation: undefined, violations: [`${method.toUpperCase()} ${path}: ${why}`] };
    }
    const { id, operation, pathValues } = matched;
    const violations: string[] = [];
    const declared = (where: string): SpecParameter[] => operation.parameters.filter((p) => p.in === where);

    for (const [name, value] of Object.entries(pathValues)) {
      const p = declared("path").find((q) => q.name === name);
      if (value === "") violations.push(`${id}: path parameter ${name} is empty`);
      else if (p !== undefined) violations.push(...this.#parameter(id, p, [value]));
    }

    for (const name of new Set(query.keys())) {
      const p = declared("query").find((q) => q.name === name);
      if (p === undefined) {
        if (!this.#queryKeys.has(name)) violations.push(`${id}: query parameter ${name} is not declared by the operation`);
      } else {
        violations.push(...this.#parameter(id, p, query.getAll(name)));
      }
    }
    for (const p of declared("query")) if (p.required && !query.has(p.name)) violations.push(`${id}: required query parameter ${p.name} is missing`);

    const header = (name: string): string | undefined => {
      const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
      return entry === undefined ? undefined : typeof entry === "string" ? entry : entry.join(", ");
    };
    for (const p of declared("header")) {
      const value = header(p.name);
      if (value === undefined) {
        if (p.required) violations.push(`${id}: required header ${p.name} is missing`);
      } else {
        violations.push(...this.#parameter(id, p, [value]));
      }
    }

    const requestBody = operation.requestBody;
    if (requestBody === undefined) {
      if (body !== undefined) violations.push(`${id}: takes no request body`);
      return { operation: id, violations };
    }
    if (body === undefined) {
      if (requestBody.required) violations.push(`${id}: a request body is required`);
      return { operation: id, violations };
    }
    const contentType = header("content-type")?.split(";")[0]?.trim().toLowerCase();
    if (contentType !== undefined && !requestBody.contentTypes.some((t) => t === "*/*" || t.toLowerCase() === contentType)) {
      violations.push(`${id}: content type ${contentType} is not one the operation accepts (${requestBody.contentTypes.join(", ")})`);
    }
    const value = body instanceof URLSearchParams ? this.#formValues(body, requestBody.schema) : body;
    violations.push(...this.#validate(`${id} request`, requestBody.schema, "request", value, `${id}: body`));
    violations.push(...undeclaredProperties(value, requestBody.schema, this.file.definitions, `${id}: body`));
    return { operation: id, violations };
  }

  /** What is wrong with an answer the stand-in gives for `operation` (a status the description does not declare, a body off its schema). */
  checkResponse(operation: string, status: number, body: unknown): string[] {
    const op = this.operation(operation);
    const response = op.responses[String(status)];
    if (response === undefined) return [`${operation}: answers ${Object.keys(op.responses).join(", ")} on success, not ${status}`];
    if (response.schema === undefined) return [];
    return this.#validate(`${operation} response ${status}`, response.schema, "response", body, `${operation}: response ${status}`);
  }

  #validate(key: string, schema: Schema, mode: Mode, value: unknown, at: string): string[] {
    let validate = this.#compiled.get(key);
    if (validate === undefined) {
      const definitions = Object.fromEntries(Object.entries(this.file.definitions).map(([k, v]) => [k, toJsonSchema(v, mode, this.file.definitions)]));
      const root = { ...(toJsonSchema(schema, mode, this.file.definitions) as object), definitions };
      this.#registerFormats(root);
      validate = this.#ajv.compile(root);
      this.#compiled.set(key, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${at}${e.instancePath}: ${describe(e)}`);
  }

  /** A parameter's values (strings on the wire) against its schema. */
  #parameter(id: string, p: SpecParameter, values: readonly string[]): string[] {
    const type = p.schema.type;
    const value = type === "array" ? values.flatMap((v) => (p.collectionFormat === "multi" || values.length > 1 ? [v] : v.split(","))).map((v) => coerce(v, p.schema.items as Schema | undefined)) : coerce(values[values.length - 1] ?? "", p.schema);
    if (type !== "array" && values.length > 1) return [`${id}: ${p.in} parameter ${p.name} given ${values.length} times`];
    return this.#validate(`${id} ${p.in} ${p.name}`, p.schema, "request", value, `${id}: ${p.in} parameter ${p.name}`);
  }

  /** A form body's fields, typed as the schema's properties say (forms carry only strings). */
  #formValues(form: URLSearchParams, schema: Schema): Record<string, unknown> {
    const props = propertiesOf(schema, this.file.definitions).props;
    return Object.fromEntries([...new Set(form.keys())].map((k) => [k, coerce(form.get(k) ?? "", props.get(k))]));
  }

  #registerFormats(schema: unknown): void {
    JSON.stringify(schema, (key, value: unknown) => {
      if (key === "format" && typeof value === "string" && this.#ajv.formats[value] === undefined) this.#ajv.addFormat(value, true);
      return value;
    });
  }
}

function route(id: string, operation: SpecOperation): Route {
  const names: string[] = [];
  let literalLength = 0;
  const source = operation.path.replace(/\{([^}]+)\}|[^{}]+/g, (m, name: string | undefined) => {
    if (name === undefined) {
      literalLength += m.length;
      return m.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    }
    names.push(name);
    return "([^/]*)";
  });
  return { id, operation, regex: new RegExp(`^${source}$`), names, literalLength };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
