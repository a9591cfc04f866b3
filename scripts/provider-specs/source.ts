/** Where each provider's description comes from: the provider kinds, reading a description file, and its origin record. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { type Json, type JsonObject, obj } from "./json.js";

export interface Source {
  /** Relative to specsDir. */
  readonly file: string;
  readonly repository: string;
  readonly path: string;
  readonly commit: string;
  readonly licence: string;
}

export interface OpenApiProvider {
  readonly kind: "openapi";
  readonly name: string;
  readonly source: Source;
  /** Other files the description's `$ref`s reach: the `$ref` prefix as written → the file. */
  readonly refFiles?: Readonly<Record<string, Source & { readonly prefix: string }>>;
  /** "METHOD /path as in the description" or an operationId. */
  readonly operations: readonly string[];
}

export interface DiscoveryProvider {
  readonly kind: "discovery";
  readonly name: string;
  readonly documents: readonly { readonly source: Source; readonly methods: readonly string[] }[];
}

export interface HandWrittenProvider {
  readonly kind: "hand-written";
  readonly name: string;
  readonly spec: () => JsonObject;
}

export type Provider = OpenApiProvider | DiscoveryProvider | HandWrittenProvider;

/** Git's blob id of the file's bytes, as `git hash-object` prints it. */
export function gitBlob(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

export function readDocument(specsDir: string, file: string): { doc: JsonObject; blob: string } {
  const bytes = readFileSync(join(specsDir, file));
  const text = bytes.toString("utf8");
  const doc = (file.endsWith(".json") ? JSON.parse(text) : parseYaml(text, { maxAliasCount: -1 })) as Json;
  return { doc: obj(doc, file), blob: gitBlob(bytes) };
}

export function originOf(source: Source, blob: string): JsonObject {
  return { repository: source.repository, path: source.path, commit: source.commit, licence: source.licence, file: source.file, blob };
}
