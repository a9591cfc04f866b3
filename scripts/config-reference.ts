import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse } from "yaml";
import { z } from "zod";
import { configSchema } from "../packages/core/src/config.js";
import type { DeliveryTarget } from "../packages/core/src/delivery.js";
import { TARGET_MODULES_BY_KIND } from "../packages/aws/src/target-modules.js";

/**
 * npm run docs:config: writes docs/configuration.md from the schemas pullkeeper validates with —
 * `configSchema` (packages/core/src/config.ts) and each delivery target's `schema`, the same map
 * the stacks check consumers with at deploy time — so the reference cannot drift from the code.
 * The prose for each key lives in docs/configuration.descriptions.yaml, keyed by path; a key
 * without a description (or a description without a key) is an error, so a new setting cannot
 * ship undocumented. test/unit/config-reference.test.ts fails while the committed file is stale.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REFERENCE_PATH = join(ROOT, "docs/configuration.md");
export const DESCRIPTIONS_PATH = join(ROOT, "docs/configuration.descriptions.yaml");

/** The subset of JSON Schema (draft 2020-12) that z.toJSONSchema emits and this page renders. */
interface Json {
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
function jsonSchemaOf(schema: z.ZodType): Json {
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

// ---------------------------------------------------------------------------------------------
// Descriptions

interface DescriptionFile {
  config: Record<string, string>;
  targets: Record<string, string>;
}

export function readDescriptions(path = DESCRIPTIONS_PATH): DescriptionFile {
  const doc = parse(readFileSync(path, "utf8")) as Partial<DescriptionFile> | null;
  return { config: doc?.config ?? {}, targets: doc?.targets ?? {} };
}

/** Looks descriptions up by candidate keys (most specific first) and remembers what it could not find or never used. */
class Describer {
  readonly missing: string[] = [];
  private readonly used = new Set<string>();
  constructor(private readonly entries: Record<string, string>, private readonly group: string) {}

  describe(candidates: string[]): string {
    for (const key of candidates) {
      const text = this.entries[key];
      if (typeof text === "string" && text.trim() !== "") {
        this.used.add(key);
        return text.trim().replace(/\s+/g, " ");
      }
    }
    // The least specific candidate that is not a wildcard is the key to add.
    const wanted = [...candidates].reverse().find((k) => !k.startsWith("*.") && !k.includes("@")) ?? candidates[0] ?? "?";
    this.missing.push(`${this.group}: ${wanted}`);
    return "";
  }

  unused(): string[] {
    return Object.keys(this.entries)
      .filter((k) => !this.used.has(k))
      .map((k) => `${this.group}: ${k}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Walking the schema

interface Row {
  key: string;
  type: string;
  presence: string;
  constraints: string;
  description: string;
}

interface Table {
  level: number;
  title: string;
  intro?: string;
  rows: Row[];
}

interface Walk {
  root: Json;
  tables: Table[];
  describer: Describer;
  /** Description candidates for a key: most specific first. */
  keys: (path: string, variant: string | undefined) => string[];
  /** Keys rendered as one row whose contents are documented elsewhere (consumers[].target). */
  opaque: Map<string, (row: Row) => Row>;
}

function resolve(node: Json | boolean | undefined, root: Json, depth = 0): Json {
  if (node === undefined || typeof node === "boolean") return {};
  if (node.$ref === undefined || depth > 20) return node;
  const { $ref, ...rest } = node;
  const target = $ref === "#" ? root : $ref.startsWith("#/$defs/") ? root.$defs?.[$ref.slice("#/$defs/".length)] : undefined;
  return { ...resolve(target, root, depth + 1), ...rest };
}

/** allOf (an intersection) as one object: properties and required lists merged. */
function flatten(node: Json, root: Json): Json {
  const resolved = resolve(node, root);
  if (!resolved.allOf) return resolved;
  const parts = resolved.allOf.map((p) => flatten(p, root));
  const { allOf: _parts, ...rest } = resolved;
  const properties: Record<string, Json> = Object.assign({}, resolved.properties, ...parts.map((p) => p.properties ?? {}));
  return { ...rest, type: "object", properties, required: [...(resolved.required ?? []), ...parts.flatMap((p) => p.required ?? [])] };
}

const branchesOf = (node: Json): Json[] | undefined => node.oneOf ?? node.anyOf;
const isObject = (node: Json): boolean => node.type === "object" || node.properties !== undefined;
const constOf = (node: Json | undefined): unknown => (node?.const !== undefined ? node.const : node?.enum?.length === 1 ? node.enum[0] : undefined);

/** The property whose constant tells a union's object branches apart (type, kind, scope…), if there is one. */
function discriminator(branches: Json[], root: Json): string | undefined {
  const objects = branches.map((b) => flatten(b, root));
  if (!objects.every((o) => isObject(o) && o.properties)) return undefined;
  const first = objects[0]?.properties ?? {};
  return Object.keys(first).find((key) => {
    const values = objects.map((o) => constOf(o.properties?.[key] && resolve(o.properties[key], root)));
    return values.every((v) => v !== undefined) && new Set(values.map((v) => JSON.stringify(v))).size === values.length;
  });
}

const code = (value: unknown): string => `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;

function formatDuration(seconds: number): string {
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["m", 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

function typeOf(raw: Json, root: Json): string {
  const node = flatten(raw, root);
  if (node.const !== undefined) return code(node.const);
  const branches = branchesOf(node);
  if (branches) {
    const parts = branches.map((b) => flatten(b, root));
    if (parts.every((p) => p.const !== undefined)) return typeOf({ type: typeof parts[0]?.const }, root);
    if (parts.every(isObject)) return `object (one of ${parts.length} forms)`;
    return [...new Set(parts.map((p) => typeOf(p, root)))].join(" or ");
  }
  if (node["x-duration"]) return "duration";
  const type = Array.isArray(node.type) ? node.type.join(" or ") : node.type;
  if (type === "string" && node.format === "uri") return "URL";
  if (type === "array") {
    if (node.prefixItems) return `[${node.prefixItems.map((p) => typeOf(p, root)).join(", ")}]`;
    return `list of ${typeOf(resolve(node.items, root), root)}`;
  }
  if (isObject(node)) {
    if (node.properties && Object.keys(node.properties).length > 0) return "object";
    if (typeof node.additionalProperties === "object") {
      return `map of ${typeOf(node.propertyNames ?? { type: "string" }, root)} to ${typeOf(node.additionalProperties, root)}`;
    }
    return "object";
  }
  return type ?? "any";
}

function constraintsOf(raw: Json, root: Json): string[] {
  const node = flatten(raw, root);
  const out: string[] = [];
  const branches = branchesOf(node);
  if (branches && branches.every((b) => flatten(b, root).const !== undefined)) {
    out.push(`one of ${branches.map((b) => code(flatten(b, root).const)).join(", ")}`);
  }
  if (node.enum && node.enum.length > 0) out.push(`one of ${node.enum.map(code).join(", ")}`);
  if (node.pattern !== undefined) out.push(`matches ${code(node.pattern)}`);
  const range = (min: number | undefined, max: number | undefined, unit: string) => {
    if (min === 1 && max === undefined) out.push("not empty");
    else if (min !== undefined && max !== undefined) out.push(`${min}–${max} ${unit}`);
    else if (min !== undefined) out.push(`at least ${min} ${unit}`);
    else if (max !== undefined) out.push(`at most ${max} ${unit}`);
  };
  range(node.minLength, node.maxLength, "characters");
  if (!node.prefixItems) range(node.minItems, node.maxItems, "items");
  if (node.exclusiveMinimum !== undefined) out.push(`above ${node.exclusiveMinimum}`);
  if (node.exclusiveMaximum !== undefined) out.push(`below ${node.exclusiveMaximum}`);
  // Number.MAX_SAFE_INTEGER is zod's ceiling for any integer, not a limit worth printing.
  if (node.maximum === Number.MAX_SAFE_INTEGER) range(node.minimum, undefined, "or more");
  else if (node.minimum !== undefined || node.maximum !== undefined) {
    if (node.minimum !== undefined && node.maximum !== undefined) out.push(`${node.minimum}–${node.maximum}`);
    else if (node.minimum !== undefined) out.push(`at least ${node.minimum}`);
    else out.push(`at most ${node.maximum}`);
  }
  if (node.type === "array") {
    const items = node.prefixItems ?? (typeof node.items === "object" ? [node.items] : []);
    const inner = [...new Set(items.flatMap((i) => (isObject(flatten(i, root)) ? [] : constraintsOf(i, root))))];
    if (inner.length > 0) out.push(`each ${inner.join(", ")}`);
  }
  if (isObject(node) && typeof node.additionalProperties === "object") {
    const keys = node.propertyNames ? constraintsOf(node.propertyNames, root) : [];
    const values = constraintsOf(node.additionalProperties, root);
    if (keys.length > 0) out.push(`keys ${keys.join(", ")}`);
    if (values.length > 0) out.push(`values ${values.join(", ")}`);
  }
  return out;
}

function presenceOf(raw: Json, required: boolean, root: Json): string {
  if (required) return "required";
  const node = flatten(raw, root);
  const value = "default" in node ? node.default : node["x-default"];
  if (value === undefined) return "optional";
  if (node["x-duration"] && typeof value === "number") return `default ${code(formatDuration(value))}`;
  // An object's default is its fields' defaults, listed on their own rows.
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return "optional";
  return `default ${code(value)}`;
}

/**
 * One row per key of an object, nested objects flattened into dotted keys, lists of objects
 * into `key[].field`; a union told apart by a constant (source.type, scope) becomes a table per form.
 */
function walkObject(rawNode: Json, prefix: string, variant: string | undefined, rows: Row[], walk: Walk, level: number): void {
  const node = flatten(rawNode, walk.root);
  const required = new Set(node.required ?? []);
  for (const [name, rawChild] of Object.entries(node.properties ?? {})) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    addRow(rawChild, path, required.has(name), variant, rows, walk, level);
  }
}

function addRow(rawChild: Json, path: string, required: boolean, variant: string | undefined, rows: Row[], walk: Walk, level: number, presence?: string): void {
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

// ---------------------------------------------------------------------------------------------
// Rendering

const TARGET_PATH = "consumers[].target";

const cell = (text: string): string => (text === "" ? " " : text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|"));

function renderTable(table: Table): string {
  const head = `${"#".repeat(table.level)} ${table.title}\n\n${table.intro ? `${table.intro}\n\n` : ""}`;
  const lines = ["| key | type | required / default | allowed | description |", "| --- | --- | --- | --- | --- |"];
  for (const r of table.rows) lines.push(`| \`${cell(r.key)}\` | ${cell(r.type)} | ${cell(r.presence)} | ${cell(r.constraints)} | ${cell(r.description)} |`);
  return `${head}${lines.join("\n")}\n`;
}

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
// The hand-written parts of the page

/** The example at the top of the page; test/unit/config-reference.test.ts validates it with the real schemas. */
export const EXAMPLE_CONFIG = `registries:
  - id: prod-ecr                                   # lower-case letters, digits, dashes; unique
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    kind: ecr
    source:
      type: ecr-token                              # pullkeeper mints ECR tokens before they expire
      account: "123456789012"                      # must match the host
      region: eu-west-1
      roleArn: arn:aws:iam::123456789012:role/pull-only   # optional: mint as a pull-only identity
    secret: pullkeeper/prod-ecr                    # the Secrets Manager secret consumers read
    verify:
      canary: team/app:stable                      # optional: HEAD this manifest too

  - id: harbor                                     # a self-hosted registry whose password pullkeeper rotates
    host: registry.example.com
    kind: generic
    source:
      type: htpasswd
      file: /mnt/htpasswd/harbor/htpasswd          # on AWS: below the EFS mount
      rotation: rate(1 day)
      efs:
        fileSystem: fs-0123456789abcdef0
        accessPoint: arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0
        subnets: [subnet-0123456789abcdef0]
        securityGroups: [sg-0123456789abcdef0]
    secret: pullkeeper/harbor
    revoke: { after: 24h, whenInUse: wait }        # the old password lives at most a day once replaced

consumers:
  - id: app-build
    registry: harbor
    target: { kind: codebuild-project, project: app-build, region: eu-west-1 }
  - id: api
    registry: harbor
    restart: true                                  # the audit API may roll stale tasks
    target:
      kind: ecs-task-definition
      family: api
      rollServices: [{ cluster: prod, service: api }]
  - id: devs
    registry: prod-ecr
    target:
      kind: codespaces-secret
      scope: user
      selectedRepositoryIds: [123456789]            # numeric repository IDs, not names
      prefix: PROD_ECR
      tokenSecret: pullkeeper/github-token

settings:
  refreshSchedule: rate(15 minutes)
  rateLimits: { github: 1.33 }                     # writes per second per provider
`;

const TEMPLATE_HEAD = `# Configuration reference: \`pullkeeper.yaml\`

<!-- Generated by scripts/config-reference.ts from the schemas the code validates with; do not edit.
     Prose: the script's template and docs/configuration.descriptions.yaml. Then: npm run docs:config -->

pullkeeper reads one file: \`pullkeeper.yaml\` in the working directory, or the file \`--config\` /
\`PULLKEEPER_CONFIG\` names. The embedded runtime (\`pullkeeper dev\`) reads it at start and again when
it changes (or on \`SIGHUP\`): new and changed consumers and settings apply at once, a file that
does not validate is not applied (the running config is kept), and registry changes wait for a restart.
On AWS the stack reads it **at deploy time**, validates it with the same schemas and ships it inside
the function bundles; IAM is derived from it (exactly the secrets and roles it names). Check a file
with \`pullkeeper validate pullkeeper.yaml\`: every problem at once, each with its path in the file
(\`registries[0].source.account: expected a 12-digit AWS account ID\`) and, where the validator
knows them, its line and column and the key you probably meant.

## Example

\`\`\`yaml
${EXAMPLE_CONFIG}\`\`\`

## How it fits together

- A **registry** is where images are pulled from. Its \`secret\` (a Secrets Manager secret on AWS,
  the local vault under \`.pullkeeper/vault\` in the embedded runtime) holds the current credential
  as \`{"username": "...", "password": "..."}\`, the shape CodeBuild and ECS read.
- Its **source** says who changes that credential:
  - \`ecr-token\`: pullkeeper mints an ECR (or ECR Public) token before the current one expires —
    once per account, region and role, verifies it against the registry, then promotes it.
  - \`htpasswd\`: pullkeeper rotates the password of a self-hosted registry (Docker Distribution's
    htpasswd file) by alternating two users, so the previous password keeps working until nothing
    uses it; then it is revoked ([lifecycle](lifecycle.md)). On AWS the file lives on EFS, shared
    with the registry, and Secrets Manager runs the rotation ([deploy](deploy.md)).
  - \`managed-secret\`: someone else changes the secret; pullkeeper only delivers and audits it.
- A **consumer** is a place that copies the credential (a CodeBuild project, an ECS task
  definition, a Codespaces or Actions secret, a Kubernetes Secret, a docker \`config.json\`, a
  webhook…). Its \`target.kind\` picks the fields below. Secrets a target authenticates with
  (\`tokenSecret\`, \`signingSecret\`) are names in the same vault, never values in this file
  (\`pullkeeper secret put\` stores one locally; see [secrets](secrets.md)).
- **Durations** are \`90s\`, \`30m\`, \`6h\`, \`1d\`. **Schedules** are \`rate(N minutes|hours|days)\` or
  \`cron(...)\` in EventBridge's six-field syntax; on AWS they become EventBridge Scheduler
  schedules, and the embedded runtime reads the same expressions (a \`rate\` is anchored at the
  epoch: \`rate(1 hour)\` fires on the hour). An htpasswd registry's \`source.rotation\` is handed to
  Secrets Manager, which is narrower: \`rate(N hours)\` with N ≥ 4 or \`rate(N days)\`; \`cron(0 …)\` with
  minute 0, year \`*\` and runs at least 4 hours apart.
- Keys not listed below are refused, everywhere (a consumer's \`target\` by its kind's own schema).

In the tables, *allowed* shows what the schema enforces; rules across keys (a consumer names a
declared registry, ids are unique, an ECR host matches \`source.account\` and \`source.region\`, every
htpasswd registry on AWS names the same \`source.efs\`) are in the descriptions.
`;

const TARGETS_INTRO = `### Consumer targets

\`consumers[].target\` takes the keys of its \`kind\`. A target the consumer's kind cannot reach is a
failed delivery with a precise reason, never a silent skip.
`;

const TEMPLATE_TAIL = `## Environment of the functions (the stack sets these)

| variable | meaning |
| --- | --- |
| \`PULLKEEPER_CONFIG\` | path of the validated config shipped with the function (\`pullkeeper.yaml\`) |
| \`PULLKEEPER_TABLE\` | ledger table name |
| \`PULLKEEPER_BUS\` | EventBridge bus name |
| \`PULLKEEPER_FINGERPRINT_KEY_SECRET\` | secret holding the HMAC key (created empty, filled on first use) |
| \`PULLKEEPER_FINGERPRINT_KEY\` | alternatively the key itself, base64 (local runs) |
| \`AWS_ENDPOINT_URL\`, \`AWS_ENDPOINT_URL_<SERVICE>\` | standard SDK variables: point any client at a compatible endpoint |

The embedded runtime reads \`PULLKEEPER_CONFIG\`, \`PULLKEEPER_STATE_DIR\` (default \`.pullkeeper\`) and
\`PULLKEEPER_PORT\` (default 8790).
`;

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
