/** Extracts the wanted methods of Google API discovery documents into the common spec shape. */
import { DOC_ONLY, isObject, type Json, type JsonObject, obj } from "./json.js";
import { type DiscoveryProvider, originOf, readDocument } from "./source.js";

/** A discovery schema as JSON Schema: `$ref: "Name"` → `#/definitions/Name`; "Required." in a description → `required`. */
function discoverySchema(value: Json, normalised: Set<string>, where: string): Json {
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  const required: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (DOC_ONLY.has(k) || k === "id" || k === "location") continue;
    if (k === "$ref" && typeof v === "string") out.$ref = `#/definitions/${v}`;
    else if (k === "type" && v === "any") continue;
    else if (k === "properties" && isObject(v)) {
      const props: JsonObject = {};
      for (const [name, prop] of Object.entries(v)) {
        if (isObject(prop) && typeof prop.description === "string" && /^Required\b/.test(prop.description)) {
          required.push(name);
          normalised.add(`${where}.${name}: required because its description starts "Required." (discovery documents have no required list)`);
        }
        props[name] = discoverySchema(prop as Json, normalised, `${where}.${name}`);
      }
      out.properties = props;
    } else if (k === "items" || k === "additionalProperties") out[k] = discoverySchema(v as Json, normalised, where);
    else out[k] = v as Json;
  }
  if (required.length > 0) out.required = required;
  return out;
}

export function extractDiscovery(provider: DiscoveryProvider, specsDir: string): JsonObject {
  const operations: JsonObject = {};
  const definitions: JsonObject = {};
  const normalised = new Set<string>();
  const origins: JsonObject[] = [];
  for (const { source, methods } of provider.documents) {
    const { doc, blob } = readDocument(specsDir, source.file);
    const schemas = obj(doc.schemas, `${source.file} schemas`);
    const root = new URL(String(doc.rootUrl));
    const wanted = new Set(methods);
    const found: JsonObject[] = [];
    const walk = (resource: JsonObject): void => {
      for (const m of Object.values(isObject(resource.methods) ? resource.methods : {})) if (isObject(m) && wanted.has(String(m.id))) found.push(m);
      for (const r of Object.values(isObject(resource.resources) ? resource.resources : {})) if (isObject(r)) walk(r);
    };
    walk(doc);
    const global = Object.entries(obj(doc.parameters ?? {}, "parameters"));
    for (const m of found) {
      wanted.delete(String(m.id));
      const flat = `/${String(doc.servicePath ?? "")}${String(m.flatPath ?? m.path)}`.replace(/\/\/+/g, "/");
      const id = `${String(m.httpMethod)} ${flat}`;
      const parameters: JsonObject[] = [];
      for (const name of [...flat.matchAll(/\{([^}]+)\}/g)].map((x) => String(x[1]))) parameters.push({ in: "path", name, required: true, schema: { type: "string" } });
      const declared = Object.entries(isObject(m.parameters) ? m.parameters : {});
      for (const [name, p] of declared) {
        const q = obj(p, name);
        if (q.location === "path") {
          // flatPath splits the one `{+name}` of `path` into one variable per segment.
          normalised.add(`${id}: path parameter ${name} (${String(m.path)}, pattern ${String(q.pattern)}) matched as the flatPath's variables`);
          continue;
        }
        parameters.push({ in: String(q.location), name, required: q.required === true, schema: discoverySchema(q, normalised, `${id} ${name}`) });
      }
      for (const [name, p] of global) parameters.push({ in: "query", name, required: false, schema: discoverySchema(p, normalised, `${id} ${name}`) });
      const operation: JsonObject = {
        method: String(m.httpMethod),
        path: flat,
        operationId: String(m.id),
        server: `${root.protocol}//${root.host}`,
        parameters: parameters.sort((a, b) => `${String(a.in)} ${String(a.name)}`.localeCompare(`${String(b.in)} ${String(b.name)}`)),
        responses: isObject(m.response) ? { "200": { schema: { $ref: `#/definitions/${String(m.response.$ref)}` } } } : { "200": {} },
      };
      if (isObject(m.request)) operation.requestBody = { contentTypes: ["application/json"], required: true, schema: { $ref: `#/definitions/${String(m.request.$ref)}` } };
      if (Array.isArray(m.scopes)) operation.scopes = m.scopes;
      operations[id] = operation;
      // The schemas these reach, transitively.
      const queue = [m.request, m.response].filter(isObject).map((r) => String(r.$ref));
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        if (name in definitions) continue;
        const schema = discoverySchema(obj(schemas[name], name), normalised, name);
        definitions[name] = schema;
        JSON.stringify(schemas[name], (k, v: unknown) => {
          if (k === "$ref" && typeof v === "string") queue.push(v);
          return v;
        });
      }
    }
    if (wanted.size > 0) throw new Error(`${provider.name}: not in ${source.file}: ${[...wanted].join(", ")}`);
    origins.push({ ...originOf(source, blob), format: `Google API discovery document ${String(doc.discoveryVersion)} (${String(doc.id)}, revision ${String(doc.revision)})`, rootUrl: String(doc.rootUrl), servicePath: String(doc.servicePath ?? "") });
  }
  const [first, ...rest] = origins;
  const origin: JsonObject = { ...(first ?? {}), also: rest, converted: "discovery methods turned into operations of the same shape as the OpenAPI providers': method, flatPath, parameters, request and response schemas from `schemas`" };
  if (normalised.size > 0) origin.normalised = [...normalised].sort();
  return { origin, basePath: "", operations, definitions };
}
