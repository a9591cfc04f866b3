import { type AheadCheck, type CheckedConfig, checkConfigFile, InvalidInputError, parseConfig, type PullkeeperConfig, type TargetSchemas } from "@pullkeeper/core";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** PULLKEEPER_CONFIG when set, else pullkeeper.yaml. */
const defaultPath = () => process.env.PULLKEEPER_CONFIG ?? "pullkeeper.yaml";

function readText(path: string): string {
  const full = resolve(path);
  try {
    return readFileSync(full, "utf8");
  } catch (error) {
    throw new InvalidInputError(`cannot read the config file ${full}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Reads and validates pullkeeper.yaml (the document; consumers' targets are checked by consumersFromConfig or readCheckedConfigFile). */
export function readConfigFile(path = defaultPath()): PullkeeperConfig {
  return parseConfig(readText(path), path);
}

/**
 * Reads pullkeeper.yaml and runs the whole check on it (checkConfigFile: the document and every
 * consumer's target with its kind's schema from `targets`), as `pullkeeper validate` and the
 * deploy do; with `ahead`, as `dev` passes scheduleIssues, the checks too slow for a cold start.
 */
export function readCheckedConfigFile(path: string, targets: TargetSchemas, ahead?: AheadCheck): CheckedConfig {
  return checkConfigFile(readText(path), path, targets, ahead);
}
