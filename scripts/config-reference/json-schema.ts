import { z } from "zod";

/** The JSON Schema side of the reference: zod schemas to JSON Schema, and the $ref / allOf / union helpers the walk reads it with. */

/** The subset of JSON Schema (draft 2020-12) that z.toJSONSchema emits and this page renders. */
export interface Json {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Json>;
  required?: string[];
  additionalProperties?: boolean | Json;
  propertyNames?: Json;
  items?: boolean | Json;
  prefixItems?: Json[];
  oneOf?: Json[];
  anyOf?: Json[];
  allOf?: Json[];
  $ref?: string;
  $defs?: Record<string, Json>;
  /** Set below: a string the schema turns into seconds ("90s", "6h"). */
  "x-duration"?: boolean;
  /** Set below: a default z.toJSONSchema drops in input mode because the schema transforms (it is the output value). */
  "x-default"?: unknown;
}

/** The input side of a schema (what the file holds), with the two facts input mode loses put back. */
export function jsonSchemaOf(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    override: ({ zodSchema, jsonSchema }) => {
      const json = jsonSchema as Json;
      const def = (zodSchema as unknown as { _zod: { def: { type: string; defaultValue?: unknown } } })._zod.def;
      if (def.type === "default" && !("default" in json)) json["x-default"] = def.defaultValue;
      if (json.type === "string" && json.pattern === undefined && json.enum === undefined && json.format === undefined) {
        // The duration schema is a transform JSON Schema cannot show; recognise it by what it does.
        const probe = (zodSchema as unknown as z.ZodType).safeParse("90s");
        if (probe.success && probe.data === 90) json["x-duration"] = true;
      }
    },
  }) as Json;
}

export function resolve(node: Json | boolean | undefined, root: Json, depth = 0): Json {
  if (node === undefined || typeof node === "boolean") return {};
  if (node.$ref === undefined || depth > 20) return node;
  const { $ref, ...rest } = node;
  const target = $ref === "#" ? root : $ref.startsWith("#/$defs/") ? root.$defs?.[$ref.slice("#/$defs/".length)] : undefined;
  return { ...resolve(target, root, depth + 1), ...rest };
}

/** allOf (an intersection) as one object: properties and required lists merged. */
export function flatten(node: Json, root: Json): Json {
  const resolved = resolve(node, root);
  if (!resolved.allOf) return resolved;
  const parts = resolved.allOf.map((p) => flatten(p, root));
  const { allOf: _parts, ...rest } = resolved;
  const properties: Record<string, Json> = Object.assign({}, resolved.properties, ...parts.map((p) => p.properties ?? {}));
  return { ...rest, type: "object", properties, required: [...(resolved.required ?? []), ...parts.flatMap((p) => p.required ?? [])] };
}

export const branchesOf = (node: Json): Json[] | undefined => node.oneOf ?? node.anyOf;
export const isObject = (node: Json): boolean => node.type === "object" || node.properties !== undefined;
export const constOf = (node: Json | undefined): unknown => (node?.const !== undefined ? node.const : node?.enum?.length === 1 ? node.enum[0] : undefined);

/** The property whose constant tells a union's object branches apart (type, kind, scope…), if there is one. */
export function discriminator(branches: Json[], root: Json): string | undefined {
  const objects = branches.map((b) => flatten(b, root));
  if (!objects.every((o) => isObject(o) && o.properties)) return undefined;
  const first = objects[0]?.properties ?? {};
  return Object.keys(first).find((key) => {
    const values = objects.map((o) => constOf(o.properties?.[key] && resolve(o.properties[key], root)));
    return values.every((v) => v !== undefined) && new Set(values.map((v) => JSON.stringify(v))).size === values.length;
  });
}
