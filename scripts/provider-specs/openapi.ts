/** Extracts the wanted operations of an OpenAPI 3.0 or Swagger 2.0 description into the common spec shape. */
import { HTTP_METHODS, isObject, type Json, type JsonObject, obj } from "./json.js";
import { OpenApiExtraction } from "./refs.js";
import { type OpenApiProvider, originOf, readDocument } from "./source.js";

/** A Swagger 2.0 non-body parameter's type keywords, as a schema. */
function swagger2ParameterSchema(p: JsonObject): JsonObject {
  const schema: JsonObject = {};
  for (const k of ["type", "format", "items", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "default", "multipleOf"]) {
    if (p[k] !== undefined) schema[k] = p[k] as Json;
  }
  return schema;
}

export function extractOpenApi(provider: OpenApiProvider, specsDir: string): JsonObject {
  const { doc, blob } = readDocument(specsDir, provider.source.file);
  const refDocs = new Map<string, { doc: JsonObject; prefix: string }>();
  const also: JsonObject[] = [];
  for (const [ref, source] of Object.entries(provider.refFiles ?? {})) {
    const read = readDocument(specsDir, source.file);
    refDocs.set(ref, { doc: read.doc, prefix: source.prefix });
    also.push({ ...originOf(source, read.blob), referencedAs: ref, definitionsPrefix: source.prefix });
  }
  const x = new OpenApiExtraction(provider, doc, refDocs);
  const swagger2 = x.swagger2;
  const basePath = swagger2 ? String(doc.basePath ?? "").replace(/\/$/, "") : "";
  const paths = obj(doc.paths, "paths");

  const wanted = new Set(provider.operations);
  const operations: JsonObject = {};
  const notes: string[] = [];
  for (const [template, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const key = `${method.toUpperCase()} ${template}`;
      const byId = typeof op.operationId === "string" && wanted.has(op.operationId) ? op.operationId : undefined;
      if (!wanted.has(key) && byId === undefined) continue;
      wanted.delete(byId ?? key);
      const fullPath = `${basePath}${template}`;
      const id = `${method.toUpperCase()} ${fullPath}`;

      const params = new Map<string, JsonObject>();
      for (const raw of [...(Array.isArray(item.parameters) ? item.parameters : []), ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
        const { value: p, docKey } = x.deref(raw, "");
        params.set(`${String(p.in)} ${String(p.name)}`, { ...p, "x-docKey": docKey });
      }
      const parameters: JsonObject[] = [];
      let requestBody: JsonObject | undefined;
      const consumes = (Array.isArray(op.consumes) ? op.consumes : Array.isArray(doc.consumes) ? doc.consumes : ["application/json"]) as Json[];
      const formData: { name: string; required: boolean; schema: Json }[] = [];
      for (const p of params.values()) {
        const docKey = String(p["x-docKey"]);
        const where = `${id} parameter ${String(p.name)}`;
        if (p.in === "body") {
          requestBody = { contentTypes: consumes, required: p.required === true, schema: x.schema(p.schema as Json, docKey, where) };
        } else if (p.in === "formData") {
          formData.push({ name: String(p.name), required: p.required === true, schema: x.schema(swagger2ParameterSchema(p), docKey, where) });
        } else {
          const schema = swagger2 ? swagger2ParameterSchema(p) : (p.schema as Json);
          const out: JsonObject = { in: String(p.in), name: String(p.name), required: p.required === true, schema: x.schema(schema ?? {}, docKey, where) };
          if (p.collectionFormat !== undefined) out.collectionFormat = p.collectionFormat as Json;
          parameters.push(out);
        }
      }
      if (formData.length > 0) {
        requestBody = {
          contentTypes: consumes.filter((c) => c === "application/x-www-form-urlencoded" || c === "multipart/form-data"),
          required: formData.some((f) => f.required),
          schema: { type: "object", properties: Object.fromEntries(formData.map((f) => [f.name, f.schema])), required: formData.filter((f) => f.required).map((f) => f.name) },
        };
      }
      if (!swagger2 && op.requestBody !== undefined) {
        const { value: body, docKey } = x.deref(op.requestBody, "");
        const content = obj(body.content, `${id} requestBody.content`);
        const types = Object.keys(content);
        const media = content["application/json"] ?? content[types[0] ?? ""];
        requestBody = { contentTypes: types, required: body.required === true, schema: isObject(media) && media.schema !== undefined ? x.schema(media.schema, docKey, `${id} body`) : {} };
      }
      for (const name of [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
        if (!parameters.some((p) => p.in === "path" && p.name === name)) notes.push(`${id}: path parameter {${name}} is in the template but not declared`);
      }

      const responses: JsonObject = {};
      for (const [status, raw] of Object.entries(obj(op.responses, `${id} responses`))) {
        if (!/^2\d\d$/.test(status)) continue;
        const { value: response, docKey } = x.deref(raw, "");
        let schema: Json | undefined;
        if (swagger2) schema = response.schema;
        else if (isObject(response.content)) {
          const content = response.content;
          const media = content["application/json"] ?? content[Object.keys(content)[0] ?? ""];
          schema = isObject(media) ? media.schema : undefined;
        }
        const out: JsonObject = {};
        if (schema !== undefined) out.schema = x.schema(schema, docKey, `${id} response ${status}`);
        else notes.push(`${id}: response ${status} has no schema`);
        if (isObject(response.headers)) out.headers = Object.keys(response.headers).sort();
        responses[status] = out;
      }

      const operation: JsonObject = { method: method.toUpperCase(), path: fullPath, parameters: parameters.sort((a, b) => `${String(a.in)} ${String(a.name)}`.localeCompare(`${String(b.in)} ${String(b.name)}`)), responses };
      if (typeof op.operationId === "string") operation.operationId = op.operationId;
      if (requestBody !== undefined) operation.requestBody = requestBody;
      if (op.deprecated === true) operation.deprecated = true;
      for (const k of ["x-ms-long-running-operation", "x-ms-long-running-operation-options"]) if (op[k] !== undefined) operation[k] = op[k] as Json;
      const security = op.security ?? doc.security;
      if (security !== undefined) operation.security = security;
      operations[id] = operation;
    }
  }
  if (wanted.size > 0) throw new Error(`${provider.name}: not in ${provider.source.file}: ${[...wanted].join(", ")}`);
  x.drain();

  const securitySchemes = swagger2 ? doc.securityDefinitions : isObject(doc.components) ? doc.components.securitySchemes : undefined;
  const origin: JsonObject = {
    ...originOf(provider.source, blob),
    format: swagger2 ? "Swagger 2.0" : `OpenAPI ${String(doc.openapi)}`,
    title: String(obj(doc.info, "info").title ?? ""),
    version: String(obj(doc.info, "info").version ?? ""),
  };
  if (swagger2) {
    origin.basePath = basePath;
    if (doc.host !== undefined) origin.host = doc.host;
    if (doc.schemes !== undefined) origin.schemes = doc.schemes;
  } else if (Array.isArray(doc.servers)) {
    origin.servers = doc.servers.map((s) => obj(s, "server").url ?? null);
  }
  if (also.length > 0) origin.also = also;
  if (x.normalised.size > 0) origin.normalised = [...x.normalised].sort();
  if (notes.length > 0) origin.notes = [...new Set(notes)].sort();
  const spec: JsonObject = { origin, basePath, operations, definitions: x.definitions };
  if (isObject(securitySchemes)) spec.securitySchemes = securitySchemes;
  return spec;
}
