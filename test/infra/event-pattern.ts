/**
 * A small EventBridge event-pattern matcher for the tests: exact string values, `prefix` and
 * `exists`, nested objects, and array fields (matched when any element matches), which is all
 * the stacks' patterns use. Anything else throws, so a pattern the matcher does not understand
 * fails the test instead of passing it.
 * Semantics per the EventBridge user guide, "Event patterns" and "Content filtering".
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new Error(`an event pattern must be an object, got ${JSON.stringify(pattern)}`);
  return Object.entries(pattern).every(([field, rule]) => {
    if (field.startsWith("$")) throw new Error(`matchesPattern: ${field} is not supported`);
    const value = isObject(event) ? (event[field] as Json | undefined) : undefined;
    if (Array.isArray(rule)) return matchesField(rule, value);
    return matchesPattern(rule, value);
  });
}

function matchesField(rules: readonly unknown[], value: Json | undefined): boolean {
  if (rules.length === 0) throw new Error("EventBridge rejects an empty array in a pattern");
  const values: Json[] = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return rules.some((rule) => {
    if (typeof rule === "string" || typeof rule === "number" || rule === null) return values.some((v) => v === rule);
    if (!isObject(rule) || Object.keys(rule).length !== 1) throw new Error(`matchesPattern: unsupported rule ${JSON.stringify(rule)}`);
    if ("prefix" in rule) {
      if (typeof rule.prefix !== "string") throw new Error(`matchesPattern: unsupported prefix ${JSON.stringify(rule)}`);
      return values.some((v) => typeof v === "string" && v.startsWith(rule.prefix as string));
    }
    if ("exists" in rule) return rule.exists === (value !== undefined && values.length > 0);
    throw new Error(`matchesPattern: unsupported rule ${JSON.stringify(rule)}`);
  });
}
