import type { RegistryAccounts, SecretValue } from "@pullkeeper/core";
import { replaceFile } from "@pullkeeper/files";
import bcrypt from "bcryptjs";
import { mkdir, readFile, stat, utimes } from "node:fs/promises";
import { dirname } from "node:path";

/** Changes to one file, in order, whichever HtpasswdFile instance of this process makes them. */
const queues = new Map<string, Promise<unknown>>();

export interface HtpasswdFileOptions {
  /** bcrypt cost; the registry checks the hash on every request, so keep it moderate. */
  readonly cost?: number;
}

/**
 * An htpasswd file as Docker Distribution reads it (bcrypt entries only). The registry re-reads
 * the file when its mtime changes and answers 400 while it is missing, so every change is a new
 * file renamed over the old one, with an mtime strictly later than the previous one (two writes
 * in the same second would otherwise look unchanged).
 */
export class HtpasswdFile implements RegistryAccounts {
  readonly #path: string;
  readonly #cost: number;

  constructor(path: string, options: HtpasswdFileOptions = {}) {
    this.#path = path;
    this.#cost = options.cost ?? 10;
  }

  get path(): string {
    return this.#path;
  }

  async users(): Promise<string[]> {
    return [...(await this.#entries()).keys()];
  }

  /** True if `password` matches the user's entry: for tests and diagnostics, never logs. */
  async check(user: string, password: string): Promise<boolean> {
    const hash = (await this.#entries()).get(user);
    return hash !== undefined && bcrypt.compare(password, hash);
  }

  setPassword(user: string, password: SecretValue): Promise<void> {
    return this.#change(async (entries) => {
      entries.set(user, await bcrypt.hash(password.reveal(), this.#cost));
    });
  }

  retire(user: string): Promise<void> {
    return this.#change(async (entries) => {
      entries.delete(user);
    });
  }

  /** Mutations of a file run one at a time, so two rotations in one process cannot lose each other's write. */
  #change(mutate: (entries: Map<string, string>) => Promise<void>): Promise<void> {
    const run = (queues.get(this.#path) ?? Promise.resolve()).then(async () => {
      const entries = await this.#entries();
      const before = [...entries].join("\n");
      await mutate(entries);
      if ([...entries].join("\n") !== before) await this.#write(entries);
    });
    queues.set(this.#path, run.catch(() => undefined));
    return run;
  }

  async #entries(): Promise<Map<string, string>> {
    let text = "";
    try {
      text = await readFile(this.#path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const entries = new Map<string, string>();
    for (const line of text.split("\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) entries.set(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    return entries;
  }

  // The mtime is set on the temp file after its last write and before the rename (a crash in
  // between must not leave new entries under the old mtime): replaceFile's beforeRename hook.
  async #write(entries: Map<string, string>): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true });
    const previous = await stat(this.#path).catch(() => undefined);
    await replaceFile(this.#path, [...entries].map(([user, hash]) => `${user}:${hash}\n`).join(""), {
      beforeRename: async (temp) => {
        const seconds = Math.max(Math.floor(Date.now() / 1000), previous ? Math.floor(previous.mtimeMs / 1000) + 1 : 0);
        await utimes(temp, seconds, seconds);
      },
    });
  }
}
