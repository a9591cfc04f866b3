import type { PullkeeperConfig } from "./config.js";
import type { Consumer, DeliveryTarget } from "./delivery.js";
import { InvalidInputError } from "./errors.js";
import { formatPath } from "./validation.js";

/**
 * Validates every consumer's `target` with its kind's own schema and returns the consumers.
 * All problems are reported at once, each with its path in the config file.
 */
export function consumersFromConfig(config: PullkeeperConfig, targets: ReadonlyMap<string, Pick<DeliveryTarget, "schema">>, source = "pullkeeper.yaml"): Consumer[] {
  const issues: string[] = [];
  const consumers: Consumer[] = [];
  const seen = new Set<string>();
  config.consumers.forEach((c, i) => {
    if (seen.has(c.id)) issues.push(`consumers[${i}].id: duplicate id "${c.id}"`);
    seen.add(c.id);
    const target = targets.get(c.target.kind);
    if (!target) {
      issues.push(`consumers[${i}].target.kind: unknown kind "${c.target.kind}" (known: ${[...targets.keys()].sort().join(", ")})`);
      return;
    }
    const parsed = target.schema.safeParse(c.target);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) issues.push(`${formatPath(["consumers", i, "target", ...issue.path])}: ${issue.message}`);
      return;
    }
    consumers.push({ id: c.id, registryId: c.registry, target: parsed.data as Consumer["target"], ...(c.restart === true && { restart: true }) });
  });
  if (issues.length > 0) throw new InvalidInputError(`${source} is not valid:\n  ${issues.join("\n  ")}`, issues);
  return consumers;
}
