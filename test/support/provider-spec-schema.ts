/** Schema side of the provider-spec checks: extracted schemas as JSON Schema for ajv, undeclared properties, form-value coercion, error wording. */
import type { ErrorObject } from "ajv";

export type Schema = { readonly [keyword: string]: unknown };
export type Definitions = Readonly<Record<string, Schema>>;

export type Mode = "request" | "response";

export function coerce(value: string, schema: Schema | undefined): unknown {
  switch (schema?.type) {
    case "integer":
    case "number":
      return /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(value) ? Number(value) : value;
    case "boolean":
      return value === "true" ? true : value === "false" ? false : value;
    default:
      return value;
  }
}

export function resolve(schema: Schema | undefined, definitions: Definitions): Schema | undefined {
  let at = schema;
  for (let hops = 0; at !== undefined && typeof at.$ref === "string" && hops < 20; hops++) {
    at = definitions[at.$ref.replace(/^#\/definitions\//, "")];
  }
  return at;
}

/** The extracted schema as JSON Schema draft-07 for ajv: nullable, x-nullable, readOnly/writeOnly and Swagger's `file` type handled. */
export function toJsonSchema(schema: unknown, mode: Mode, definitions: Definitions): unknown {
  if (Array.isArray(schema)) return schema.map((s) => toJsonSchema(s, mode, definitions));
  if (typeof schema !== "object" || schema === null) return schema;
  const source = schema as Schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(source)) {
    if (k === "nullable" || k === "x-nullable" || k === "discriminator") continue;
    if (k === "properties" && typeof v === "object" && v !== null) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, toJsonSchema(s, mode, definitions)]));
    } else if (k === "required" && Array.isArray(v) && typeof source.properties === "object" && source.properties !== null) {
      // Never required where the other side sets it: readOnly in a request, writeOnly in a response.
      const skip = mode === "request" ? "readOnly" : "writeOnly";
      const props = source.properties as Record<string, Schema>;
      out[k] = v.filter((name: string) => {
        const prop = props[name];
        return !(prop?.[skip] === true || resolve(prop, definitions)?.[skip] === true);
      });
    } else if (k === "type" && v === "file") {
      continue;
    } else if (k === "enum" || k === "default" || k === "required" || k.startsWith("x-")) {
      out[k] = v;
    } else {
      out[k] = toJsonSchema(v, mode, definitions);
    }
  }
  if (source.nullable === true || source["x-nullable"] === true) {
    if (typeof out.type === "string") {
      out.type = [out.type, "null"];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
      return out;
    }
    return { anyOf: [out, { type: "null" }] };
  }
  return out;
}

/** The properties an object schema declares (its own and its allOf members'), and whether it takes others. */
export function propertiesOf(schema: Schema | undefined, definitions: Definitions): { props: Map<string, Schema>; open: boolean } {
  const props = new Map<string, Schema>();
  let open = false;
  const visit = (s: Schema | undefined, depth: number): void => {
    const at = resolve(s, definitions);
    if (at === undefined || depth > 20) {
      open = true;
      return;
    }
    if (at.additionalProperties !== undefined && at.additionalProperties !== false) open = true;
    if (at.anyOf !== undefined || at.oneOf !== undefined) open = true;
    for (const [k, v] of Object.entries((at.properties ?? {}) as Record<string, Schema>)) props.set(k, v);
    for (const member of (at.allOf ?? []) as Schema[]) visit(member, depth + 1);
  };
  visit(schema, 0);
  // A schema that names no property at all (`type: object`) is free-form.
  if (props.size === 0) open = true;
  return { props, open };
}

/** Properties of `value` that the schema does not declare (where the schema declares a closed set). */
export function undeclaredProperties(value: unknown, schema: Schema | undefined, definitions: Definitions, at: string): string[] {
  const resolved = resolve(schema, definitions);
  if (resolved === undefined) return [];
  if (Array.isArray(value)) {
    const items = resolved.items as Schema | undefined;
    return items === undefined ? [] : value.flatMap((v, i) => undeclaredProperties(v, items, definitions, `${at}/${i}`));
  }
  if (typeof value !== "object" || value === null) return [];
  const { props, open } = propertiesOf(resolved, definitions);
  return Object.entries(value).flatMap(([k, v]) => {
    const prop = props.get(k);
    if (prop === undefined) return open ? [] : [`${at}: property ${k} is not declared by the schema`];
    return undeclaredProperties(v, prop, definitions, `${at}/${k}`);
  });
}

export function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case "required":
      return `missing required property ${String((e.params as { missingProperty: string }).missingProperty)}`;
    case "type":
      return `must be ${String((e.params as { type: string }).type)}`;
    case "enum":
      return `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
    default:
      return e.message ?? e.keyword;
  }
}
