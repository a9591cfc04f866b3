import { branchesOf, flatten, isObject, type Json, resolve } from "./json-schema.js";

/** What a key's row says in the type, required / default and allowed columns. */

export const code = (value: unknown): string => `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;

function formatDuration(seconds: number): string {
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["m", 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

export function typeOf(raw: Json, root: Json): string {
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

export function constraintsOf(raw: Json, root: Json): string[] {
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

export function presenceOf(raw: Json, required: boolean, root: Json): string {
  if (required) return "required";
  const node = flatten(raw, root);
  const value = "default" in node ? node.default : node["x-default"];
  if (value === undefined) return "optional";
  if (node["x-duration"] && typeof value === "number") return `default ${code(formatDuration(value))}`;
  // An object's default is its fields' defaults, listed on their own rows.
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return "optional";
  return `default ${code(value)}`;
}
