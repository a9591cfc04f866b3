/** Collects an OpenAPI/Swagger description's `$ref`s (across its files) into `#/definitions/<name>` schemas, documentation left out. */
import { DOC_ONLY, isObject, type Json, type JsonObject, obj, pointer } from "./json.js";
import type { OpenApiProvider } from "./source.js";

export class OpenApiExtraction {
  readonly definitions: Record<string, Json> = {};
  readonly normalised = new Set<string>();
  readonly #docs = new Map<string, { doc: JsonObject; prefix: string }>();
  readonly #pending: { docKey: string; name: string; path: string }[] = [];

  constructor(
    readonly provider: OpenApiProvider,
    main: JsonObject,
    refDocs: ReadonlyMap<string, { doc: JsonObject; prefix: string }>,
  ) {
    this.#docs.set("", { doc: main, prefix: "" });
    for (const [key, value] of refDocs) this.#docs.set(key, value);
  }

  get swagger2(): boolean {
    return this.#docs.get("")?.doc.swagger === "2.0";
  }

  /** A `$ref` as written in document `docKey` → the document and the pointer inside it. */
  #target(ref: string, docKey: string): { docKey: string; path: string } {
    const hash = ref.indexOf("#");
    const file = hash < 0 ? ref : ref.slice(0, hash);
    const path = hash < 0 ? "" : ref.slice(hash + 1);
    if (file === "") return { docKey, path };
    if (this.#docs.has(file)) return { docKey: file, path };
    throw new Error(`${this.provider.name}: $ref to ${file}, which is not among the files extracted from`);
  }

  /** Follows `$ref`s (parameters, responses, request bodies) to the object itself. */
  deref(value: Json, docKey: string): { value: JsonObject; docKey: string } {
    let at = obj(value, "deref");
    let key = docKey;
    for (let hops = 0; typeof at.$ref === "string"; hops++) {
      if (hops > 20) throw new Error(`${this.provider.name}: $ref loop at ${at.$ref}`);
      const target = this.#target(at.$ref, key);
      const doc = this.#docs.get(target.docKey);
      if (doc === undefined) throw new Error(`no document ${target.docKey}`);
      at = obj(pointer(doc.doc, target.path, this.provider.name), at.$ref);
      key = target.docKey;
    }
    return { value: at, docKey: key };
  }

  /** A schema with its `$ref`s renamed to `#/definitions/<name>` (and queued), documentation left out. */
  schema(value: Json, docKey: string, where: string): Json {
    if (Array.isArray(value)) return value.map((v) => this.schema(v, docKey, where));
    if (!isObject(value)) return value;
    if (typeof value.$ref === "string") {
      const target = this.#target(value.$ref, docKey);
      const match = /^\/(?:definitions|components\/schemas)\/([^/]+)$/.exec(target.path);
      if (match === null) return this.schema(this.deref(value, docKey).value, this.deref(value, docKey).docKey, where);
      const prefix = this.#docs.get(target.docKey)?.prefix ?? "";
      const name = `${prefix}${decodeURIComponent(match[1] ?? "")}`;
      if (!(name in this.definitions)) {
        this.definitions[name] = null;
        this.#pending.push({ docKey: target.docKey, name, path: target.path });
      }
      // Keywords next to a $ref (Azure's `readOnly`, `x-nullable`) stay: the checker reads them.
      const siblings = Object.entries(value).filter(([k]) => k !== "$ref" && !DOC_ONLY.has(k));
      return { ...Object.fromEntries(siblings.map(([k, v]) => [k, this.schema(v as Json, docKey, where)])), $ref: `#/definitions/${name}` };
    }
    const out: JsonObject = {};
    const propertyRequired: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (DOC_ONLY.has(k)) continue;
      if (k === "properties" && isObject(v)) {
        const props: JsonObject = {};
        for (const [name, prop] of Object.entries(v)) {
          // Swagger 1.x style `required: true` on a property: what the author meant is the object's `required` list.
          if (isObject(prop) && prop.required === true) {
            propertyRequired.push(name);
            this.normalised.add(`${where}.${name}: property-level "required": true moved to the object's "required" list`);
            const { required: _, ...rest } = prop;
            props[name] = this.schema(rest, docKey, `${where}.${name}`);
          } else {
            props[name] = this.schema(prop as Json, docKey, `${where}.${name}`);
          }
        }
        out[k] = props;
      } else {
        out[k] = k === "enum" || k === "default" || k === "required" ? v : this.schema(v, docKey, where);
      }
    }
    if (propertyRequired.length > 0) out.required = [...(Array.isArray(out.required) ? out.required : []), ...propertyRequired];
    return out;
  }

  /** Every definition reached, transitively. */
  drain(): void {
    for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) {
      const doc = this.#docs.get(next.docKey);
      if (doc === undefined) throw new Error(`no document ${next.docKey}`);
      this.definitions[next.name] = this.schema(pointer(doc.doc, next.path, this.provider.name), next.docKey, next.name);
    }
  }
}
