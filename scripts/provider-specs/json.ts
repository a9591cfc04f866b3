/** JSON values and helpers shared by the provider-spec extractors: object checks, JSON pointers, sorted output. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch"];
/** Keywords that only document: left out of the extracted schemas and parameters. */
export const DOC_ONLY = new Set(["description", "summary", "example", "examples", "x-example", "x-ms-examples", "externalDocs", "title", "enumDescriptions", "x-ms-parameter-location", "x-ms-client-name", "x-ms-client-flatten", "x-ms-secret", "x-ms-mutability", "x-ms-identifiers", "x-ms-azure-resource", "x-omitempty"]);

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function obj(value: Json | undefined, what: string): JsonObject {
  if (!isObject(value)) throw new Error(`${what}: expected an object`);
  return value;
}

export function pointer(doc: JsonObject, path: string, what: string): Json {
  let at: Json = doc;
  for (const raw of path.replace(/^\//, "").split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObject(at) || !(key in at)) throw new Error(`${what}: ${path} not found`);
    at = at[key] as Json;
  }
  return at;
}

/** Sorted keys all the way down; arrays keep their order. */
export function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys(value[k] as Json)]),
  );
}

export function output(value: JsonObject): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}
