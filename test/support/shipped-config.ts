import { writeFileSync } from "node:fs";
import { parse } from "yaml";

/**
 * Writes a pullkeeper.yaml's document as the deploy ships it to the functions (stacks/config.ts,
 * shippedConfig): JSON, which is all a function reads. Unchecked on purpose, so a test can ship a
 * bad config and see the function refuse it.
 */
export function writeShippedConfig(file: string, yamlText: string): void {
  writeFileSync(file, `${JSON.stringify(parse(yamlText))}\n`);
}
