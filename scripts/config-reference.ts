import { writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { configSchema } from "../packages/core/src/config/config-schema.js";
import type { DeliveryTarget } from "../packages/core/src/propagation/delivery.js";
import { TARGET_MODULES_BY_KIND } from "../packages/aws/src/target-modules.js";
import { code, constraintsOf, presenceOf, typeOf } from "./config-reference/columns.js";
import { Describer, type DescriptionFile, DESCRIPTIONS_PATH, readDescriptions } from "./config-reference/descriptions.js";
import { branchesOf, constOf, discriminator, flatten, isObject, jsonSchemaOf, resolve } from "./config-reference/json-schema.js";
import { addRow, renderTable, type Row, type Table, type Walk, walkObject } from "./config-reference/tables.js";
import { EXAMPLE_CONFIG, TARGETS_INTRO, TEMPLATE_HEAD, TEMPLATE_TAIL } from "./config-reference/template.js";

/**
 * npm run docs:config: writes docs/configuration.md from the schemas pullkeeper validates with —
 * `configSchema` (packages/core/src/config/config.ts) and each delivery target's `schema`, the same map
 * the stacks check consumers with at deploy time — so the reference cannot drift from the code.
 * The prose for each key lives in docs/configuration.descriptions.yaml, keyed by path; a key
 * without a description (or a description without a key) is an error, so a new setting cannot
 * ship undocumented. test/unit/config-reference.test.ts fails while the committed file is stale.
 * The parts live in scripts/config-reference/: json-schema.ts (zod to JSON Schema), columns.ts
 * (type, default, allowed), tables.ts (the walk and the markdown tables), descriptions.ts (the
 * prose file) and template.ts (the hand-written parts of the page).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REFERENCE_PATH = join(ROOT, "docs/configuration.md");
export { DESCRIPTIONS_PATH, EXAMPLE_CONFIG, readDescriptions };

const TARGET_PATH = "consumers[].target";

export interface Reference {
  markdown: string;
  /** Keys of the schemas without a description ("config: settings.timezone", "targets: webhook.url"). */
  missing: string[];
  /** Descriptions no key uses any more. */
  unused: string[];
}

/** The whole page, with what is missing from docs/configuration.descriptions.yaml. */
export function buildReference(options: { descriptions?: DescriptionFile; targets?: ReadonlyMap<string, Pick<DeliveryTarget, "schema">> } = {}): Reference {
  const descriptions = options.descriptions ?? readDescriptions();
  const targets = options.targets ?? TARGET_MODULES_BY_KIND;
  const kinds = [...targets.keys()].sort();

  const configDescriber = new Describer(descriptions.config, "config");
  const configRoot = jsonSchemaOf(configSchema);
  const configTables: Table[] = [];
  const topRows: Row[] = [];
  const configWalk: Walk = {
    root: configRoot,
    tables: configTables,
    describer: configDescriber,
    keys: (path, variant) => (variant ? [`${path}@${variant}`, path] : [path]),
    opaque: new Map([
      [TARGET_PATH, (row: Row) => ({ ...row, type: "object", constraints: `\`kind\`: one of ${kinds.map(code).join(", ")}; the other keys per kind, below` })],
    ]),
  };
  // Each top-level key is a section of its own, its fields in a table under it.
  const top = flatten(configRoot, configRoot);
  const topRequired = new Set(top.required ?? []);
  const sections: Table[][] = [];
  for (const [name, rawChild] of Object.entries(top.properties ?? {})) {
    const child = flatten(rawChild, configRoot);
    topRows.push({
      key: name,
      type: typeOf(child, configRoot),
      presence: presenceOf(child, topRequired.has(name), configRoot),
      constraints: constraintsOf(child, configRoot).join("; "),
      description: configDescriber.describe([name]),
    });
    const section: Table = { level: 2, title: `\`${name}\``, rows: [] };
    const nested: Table[] = [];
    const walk = { ...configWalk, tables: nested };
    const items = child.type === "array" && typeof child.items === "object" ? flatten(child.items, configRoot) : undefined;
    if (items && isObject(items)) walkObject(items, `${name}[]`, undefined, section.rows, walk, 2);
    else if (isObject(child)) walkObject(child, name, undefined, section.rows, walk, 2);
    sections.push(section.rows.length > 0 ? [section, ...nested] : nested);
  }

  const targetDescriber = new Describer(descriptions.targets, "targets");
  const targetTables: Table[] = [];
  for (const kind of kinds) {
    const schema = targets.get(kind)?.schema;
    if (!schema) continue;
    const root = jsonSchemaOf(schema);
    const table: Table = { level: 3, title: `\`kind: ${kind}\``, rows: [] };
    const nested: Table[] = [];
    const walk: Walk = {
      root,
      tables: nested,
      describer: targetDescriber,
      keys: (path, variant) => {
        const field = path.slice(`${TARGET_PATH}.`.length);
        return [...(variant ? [`${kind}.${field}@${variant}`] : []), `${kind}.${field}`, `*.${field}`];
      },
      opaque: new Map(),
    };
    const node = flatten(root, root);
    const branches = branchesOf(node);
    const tag = branches ? discriminator(branches, root) : undefined;
    if (branches && tag !== undefined) {
      // Forms of one kind (scope: user | repository | organization): the keys every form shares once, then each form's own.
      const forms = branches.map((b) => flatten(b, root));
      const shared = Object.keys(forms[0]?.properties ?? {}).filter(
        (k) => k !== tag && forms.every((f) => JSON.stringify(f.properties?.[k]) === JSON.stringify(forms[0]?.properties?.[k]) && (f.required ?? []).includes(k) === (forms[0]?.required ?? []).includes(k)),
      );
      const values = forms.map((f) => constOf(resolve(f.properties?.[tag], root)));
      addRow({ type: "string", enum: values }, `${TARGET_PATH}.${tag}`, true, undefined, table.rows, walk, 3);
      walkObject({ type: "object", properties: Object.fromEntries(shared.map((k) => [k, forms[0]?.properties?.[k] ?? {}])), required: (forms[0]?.required ?? []).filter((k) => shared.includes(k)) }, TARGET_PATH, undefined, table.rows, walk, 3);
      forms.forEach((form, i) => {
        const own: Table = { level: 4, title: `\`kind: ${kind}\` with \`${tag}: ${String(values[i])}\``, rows: [] };
        nested.push(own);
        const keys = Object.keys(form.properties ?? {}).filter((k) => k !== tag && !shared.includes(k));
        walkObject({ type: "object", properties: Object.fromEntries(keys.map((k) => [k, form.properties?.[k] ?? {}])), required: (form.required ?? []).filter((k) => keys.includes(k)) }, TARGET_PATH, `${tag}=${String(values[i])}`, own.rows, walk, 4);
      });
    } else {
      walkObject(node, TARGET_PATH, undefined, table.rows, walk, 3);
    }
    targetTables.push(table, ...nested);
  }

  const generated = [
    renderTable({ level: 2, title: "Top level", rows: topRows }),
    ...sections.flatMap((tables, i) => {
      const rendered = tables.map(renderTable);
      // The consumer kinds belong to the consumers section.
      return Object.keys(top.properties ?? {})[i] === "consumers" ? [...rendered, TARGETS_INTRO, ...targetTables.map(renderTable)] : rendered;
    }),
  ].join("\n");

  return {
    markdown: `${TEMPLATE_HEAD}\n${generated}\n${TEMPLATE_TAIL}`,
    missing: [...configDescriber.missing, ...targetDescriber.missing],
    unused: [...configDescriber.unused(), ...targetDescriber.unused()],
  };
}

// ---------------------------------------------------------------------------------------------

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reference = buildReference();
  const problems = [
    ...reference.missing.map((k) => `no description for ${k}`),
    ...reference.unused.map((k) => `description for a key the schemas do not have: ${k}`),
  ];
  if (problems.length > 0) {
    console.error(`${relative(process.cwd(), DESCRIPTIONS_PATH)}:\n  ${problems.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    writeFileSync(REFERENCE_PATH, reference.markdown);
    console.log(`${relative(process.cwd(), REFERENCE_PATH)}: ${reference.markdown.split("\n").length} lines`);
  }
}
