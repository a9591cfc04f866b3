import { InvalidInputError, parseConfig, type PullkeeperConfig } from "@pullkeeper/core";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** Reads and validates pullkeeper.yaml; the path comes from PULLKEEPER_CONFIG when set. */
export function readConfigFile(path = process.env.PULLKEEPER_CONFIG ?? "pullkeeper.yaml"): PullkeeperConfig {
  const full = resolve(path);
  let text: string;
  try {
    text = readFileSync(full, "utf8");
  } catch (error) {
    throw new InvalidInputError(`cannot read the config file ${full}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseConfig(text, path);
}
