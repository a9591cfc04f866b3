import { type AheadCheck, type CheckedConfig, checkConfigFile, InvalidInputError, type PullkeeperConfig, SHIPPED_CONFIG_FILE, type TargetSchemas, validateConfig } from "@pullkeeper/core";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** PULLKEEPER_CONFIG when set, else pullkeeper.json. */
const defaultPath = () => process.env.PULLKEEPER_CONFIG ?? SHIPPED_CONFIG_FILE;

function readText(path: string): string {
  const full = resolve(path);
  try {
    return readFileSync(full, "utf8");
  } catch (error) {
    throw new InvalidInputError(`cannot read the config file ${full}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/**
 * Reads and validates the config the deploy shipped: JSON, the document of a pullkeeper.yaml
 * already checked whole at deploy time (consumers' targets are checked by consumersFromConfig).
 */
export function readConfigFile(path = defaultPath()): PullkeeperConfig {
  const text = readText(path);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // The parser's message may quote the text; the file is named, not echoed.
    throw new InvalidInputError(`${path} is not JSON: a function reads the config as the deploy ships it (${SHIPPED_CONFIG_FILE}, the checked document of pullkeeper.yaml), not the YAML itself`);
  }
  return validateConfig(document, path);
}

/**
 * Reads pullkeeper.yaml and runs the whole check on it (checkConfigFile: the document and every
 * consumer's target with its kind's schema from `targets`), as `pullkeeper validate` and the
 * deploy do; with `ahead`, as `dev` passes scheduleIssues, the checks too slow for a cold start.
 */
export function readCheckedConfigFile(path: string, targets: TargetSchemas, ahead?: AheadCheck): CheckedConfig {
  return checkConfigFile(readText(path), path, targets, ahead);
}
