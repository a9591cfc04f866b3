import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Issued } from "./issued.js";
import { type Finding, findValue } from "./leak-matcher.js";

/**
 * Everything the leak run captured, as named byte strings, and the search of all of it for every
 * issued value. An artifact may name the values that legitimately live there (a consumer's own
 * copy, the provider a token authenticates to); every other value must be absent in every form.
 */

export interface Artifact {
  readonly where: string;
  readonly bytes: Buffer;
  /** Values this artifact may hold; absent: none. */
  readonly legitimate?: (issued: Issued) => boolean;
}

export class Capture {
  readonly artifacts: Artifact[] = [];

  add(where: string, data: string | Buffer | unknown, legitimate?: (issued: Issued) => boolean): void {
    // A promise would be captured as "{}": a forgotten await, not a clean artifact.
    if (typeof (data as { then?: unknown } | null)?.then === "function") throw new Error(`${where}: captured a promise; await it first`);
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(typeof data === "string" ? data : JSON.stringify(data), "utf8");
    this.artifacts.push({ where, bytes, ...(legitimate && { legitimate }) });
  }

  /**
   * Every regular file under `dir`, byte for byte, named `<label>/<relative path>`. `legitimate`
   * says, per file, which values may be there; `skip` leaves files out (read elsewhere). Files that
   * vanish while being read are skipped.
   */
  async addTree(dir: string, label: string, legitimate?: (relativePath: string) => ((issued: Issued) => boolean) | undefined, skip?: (relativePath: string) => boolean): Promise<number> {
    let count = 0;
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      if (skip?.(relative(dir, path))) continue;
      const bytes = await readFile(path).catch(() => undefined);
      if (bytes === undefined) continue;
      const rel = relative(dir, path);
      this.add(`${label}/${rel}`, bytes, legitimate?.(rel));
      count++;
    }
    return count;
  }

  get bytes(): number {
    return this.artifacts.reduce((n, a) => n + a.bytes.length, 0);
  }
}

/** Every form of every issued value found in an artifact where it does not belong. */
export function searchLeaks(artifacts: readonly Artifact[], issued: readonly Issued[]): Finding[] {
  const findings: Finding[] = [];
  for (const artifact of artifacts) {
    const text = artifact.bytes.toString("latin1");
    for (const value of issued) {
      if (artifact.legitimate?.(value)) continue;
      findings.push(...findValue(text, value.value, value.username, artifact.where));
    }
  }
  return findings;
}
