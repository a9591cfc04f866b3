import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";

/** `.pullkeeper/` and the small secrets in it, each created once with mode 0600. */
export async function ensureStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Reads `path`, or creates it with `make()` if absent. `wx` makes creation exclusive, so two
 * processes starting at once end with one value; the loser reads the winner's.
 */
export async function readOrCreate(path: string, make: () => string): Promise<{ value: string; created: boolean }> {
  try {
    await writeFile(path, make(), { mode: 0o600, flag: "wx" });
    await chmod(path, 0o600);
    return { value: (await readFile(path, "utf8")).trim(), created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return { value: (await readFile(path, "utf8")).trim(), created: false };
  }
}

export const randomToken = (): string => randomBytes(32).toString("base64url");
