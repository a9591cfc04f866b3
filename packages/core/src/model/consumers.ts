import { formatConfigIssue, type PathIssue, zodIssues } from "../config/config-issues.js";
import type { Consumer, DeliveryTarget } from "../propagation/delivery.js";
import { InvalidInputError } from "./errors.js";
import { didYouMean } from "../config/suggest.js";

/** A consumer as the config file writes it (PullkeeperConfig's `consumers`), before its target is checked. */
export interface ConsumerEntry {
  readonly id: string;
  readonly registry: string;
  readonly target: { readonly kind: string } & Record<string, unknown>;
  readonly restart?: boolean | undefined;
}

/** Each consumer kind's schema for its `target`: the delivery targets, or just their schemas. */
export type TargetSchemas = ReadonlyMap<string, Pick<DeliveryTarget, "schema">>;

/**
 * Checks the `target` of every consumer in `consumers` (the raw list from the document) with its
 * kind's schema. Entries that are not objects, and ids, are left to the document's check.
 * Returns the parsed targets by index, and the issues.
 */
export function consumerTargetIssues(consumers: unknown, targets: TargetSchemas): { readonly issues: PathIssue[]; readonly parsed: Map<number, Consumer["target"]> } {
  const issues: PathIssue[] = [];
  const parsed = new Map<number, Consumer["target"]>();
  if (!Array.isArray(consumers)) return { issues, parsed };
  consumers.forEach((c: unknown, i) => {
    if (c === null || typeof c !== "object") return;
    const { target } = c as { target?: unknown };
    const kind = (target as { kind?: unknown } | null | undefined)?.kind;
    if (typeof kind !== "string") return;
    const schema = targets.get(kind)?.schema;
    if (!schema) {
      const known = [...targets.keys()].sort();
      issues.push({ path: ["consumers", i, "target", "kind"], message: `unknown kind "${kind}"${didYouMean(kind, known)} (known: ${known.join(", ")})` });
      return;
    }
    const result = schema.safeParse(target);
    if (result.success) parsed.set(i, result.data as Consumer["target"]);
    else issues.push(...zodIssues(result.error, schema, target, ["consumers", i, "target"]));
  });
  return { issues, parsed };
}

/**
 * Validates every consumer's `target` with its kind's own schema and returns the consumers.
 * All problems are reported at once, each with its path in the config file. The config file's
 * own check (checkConfigFile) runs the same checks with line and column; this one serves a
 * config that was already checked (the functions on AWS).
 */
export function consumersFromConfig(config: { readonly consumers: readonly ConsumerEntry[] }, targets: TargetSchemas, source = "pullkeeper.yaml"): Consumer[] {
  const { issues, parsed } = consumerTargetIssues(config.consumers, targets);
  if (issues.length > 0) {
    const lines = issues.map((issue) => formatConfigIssue(issue, source));
    throw new InvalidInputError(`${source} is not valid:\n  ${lines.join("\n  ")}`, lines);
  }
  return config.consumers.map((c, i) => ({ id: c.id, registryId: c.registry, target: parsed.get(i) as Consumer["target"], ...(c.restart === true && { restart: true }) }));
}
