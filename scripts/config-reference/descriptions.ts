import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** The prose of each key: docs/configuration.descriptions.yaml, read and looked up, with what is missing or unused. */

export const DESCRIPTIONS_PATH = join(dirname(fileURLToPath(import.meta.url)), "../..", "docs/configuration.descriptions.yaml");

export interface DescriptionFile {
  config: Record<string, string>;
  targets: Record<string, string>;
}

export function readDescriptions(path = DESCRIPTIONS_PATH): DescriptionFile {
  const doc = parse(readFileSync(path, "utf8")) as Partial<DescriptionFile> | null;
  return { config: doc?.config ?? {}, targets: doc?.targets ?? {} };
}

/** Looks descriptions up by candidate keys (most specific first) and remembers what it could not find or never used. */
export class Describer {
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
