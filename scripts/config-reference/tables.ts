import { code, constraintsOf, presenceOf, typeOf } from "./columns.js";
import type { Describer } from "./descriptions.js";
import { branchesOf, constOf, discriminator, flatten, isObject, type Json, resolve } from "./json-schema.js";

/** Walks a JSON Schema into tables of rows (one per key, dotted paths, a table per union form) and renders a table as markdown. */

export interface Row {
  key: string;
  type: string;
  presence: string;
  constraints: string;
  description: string;
}

export interface Table {
  level: number;
  title: string;
  intro?: string;
  rows: Row[];
}

export interface Walk {
  root: Json;
  tables: Table[];
  describer: Describer;
  /** Description candidates for a key: most specific first. */
  keys: (path: string, variant: string | undefined) => string[];
  /** Keys rendered as one row whose contents are documented elsewhere (consumers[].target). */
  opaque: Map<string, (row: Row) => Row>;
}

/**
 * One row per key of an object, nested objects flattened into dotted keys, lists of objects
 * into `key[].field`; a union told apart by a constant (source.type, scope) becomes a table per form.
 */
export function walkObject(rawNode: Json, prefix: string, variant: string | undefined, rows: Row[], walk: Walk, level: number): void {
  const node = flatten(rawNode, walk.root);
  const required = new Set(node.required ?? []);
  for (const [name, rawChild] of Object.entries(node.properties ?? {})) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    addRow(rawChild, path, required.has(name), variant, rows, walk, level);
  }
}

export function addRow(rawChild: Json, path: string, required: boolean, variant: string | undefined, rows: Row[], walk: Walk, level: number, presence?: string): void {
  const { root } = walk;
  const child = flatten(rawChild, root);
  const row: Row = {
    key: path,
    type: typeOf(child, root),
    presence: presence ?? presenceOf(child, required, root),
    constraints: constraintsOf(child, root).join("; "),
    description: walk.describer.describe(walk.keys(path, variant)),
  };
  const opaque = walk.opaque.get(path);
  if (opaque) {
    rows.push(opaque(row));
    return;
  }
  rows.push(row);

  const branches = branchesOf(child);
  if (branches && branches.every((b) => isObject(flatten(b, root)))) {
    const tag = discriminator(branches, root);
    if (tag !== undefined) {
      row.type = "object";
      row.constraints = [`by ${code(tag)}: one of ${branches.map((b) => code(constOf(resolve(flatten(b, root).properties?.[tag], root)))).join(", ")}`, row.constraints].filter(Boolean).join("; ");
      for (const branch of branches) {
        const form = flatten(branch, root);
        const value = constOf(resolve(form.properties?.[tag], root));
        const table: Table = { level: level + 1, title: `\`${path}\` with \`${tag}: ${String(value)}\``, rows: [] };
        walk.tables.push(table);
        walkObject(form, path, `${tag}=${String(value)}`, table.rows, walk, level + 1);
      }
    } else {
      // Forms without a tag (gitpod's scope): each form's keys, marked with the form they belong to.
      branches.forEach((branch, i) => {
        const form = flatten(branch, root);
        const names = Object.keys(form.properties ?? {});
        const formRequired = new Set(form.required ?? []);
        for (const name of names) {
          addRow(form.properties?.[name] ?? {}, `${path}.${name}`, false, variant, rows, walk, level, formRequired.has(name) ? `required in form ${i + 1} of ${branches.length}` : `optional, form ${i + 1} of ${branches.length}`);
        }
      });
    }
    return;
  }
  if (isObject(child) && child.properties && Object.keys(child.properties).length > 0) {
    walkObject(child, path, variant, rows, walk, level);
    return;
  }
  if (child.type === "array" && typeof child.items === "object") {
    const items = flatten(child.items, root);
    if (isObject(items) && items.properties) walkObject(items, `${path}[]`, variant, rows, walk, level);
  }
}

const cell = (text: string): string => (text === "" ? " " : text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|"));

export function renderTable(table: Table): string {
  const head = `${"#".repeat(table.level)} ${table.title}\n\n${table.intro ? `${table.intro}\n\n` : ""}`;
  const lines = ["| key | type | required / default | allowed | description |", "| --- | --- | --- | --- | --- |"];
  for (const r of table.rows) lines.push(`| \`${cell(r.key)}\` | ${cell(r.type)} | ${cell(r.presence)} | ${cell(r.constraints)} | ${cell(r.description)} |`);
  return `${head}${lines.join("\n")}\n`;
}
