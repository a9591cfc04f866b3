import { PullkeeperError } from "@pullkeeper/core";
import { createFile, replaceFile, syncDirectory } from "@pullkeeper/files";
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

/**
 * One encrypted file per named document, under a key file; what LocalVault keeps its secrets in.
 * It knows nothing of versions or labels: a document is opaque bytes here.
 *
 * Layout of `dir`:
 *   vault.key                   32 random bytes, the AES-256-GCM key, mode 0600, created on first use
 *   secrets/<sha256(name)>.enc  one encrypted file per name, mode 0600
 *
 * The file name is a hash because names hold "/" and need not be revealed.
 *
 * Each file: "PKV1" | 12-byte IV | 16-byte GCM tag | ciphertext. The IV is fresh for every write;
 * the file's own name is the additional authenticated data, so a file copied over another
 * name's fails authentication like a flipped byte does.
 *
 * Writes go to a temp file in the same directory, are fsynced, then renamed over the old file
 * (and the directory fsynced): a reader sees the old document or the new one, never half of one.
 * Serializing writers is the caller's business.
 */

/** The file format's version, bound into each file's additional authenticated data. */
export const FILE_FORMAT = 1;

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAGIC = Buffer.from("PKV1", "ascii");
const HEADER_BYTES = MAGIC.length + IV_BYTES + TAG_BYTES;
/** A temp file older than this belongs to a writer that died; the first write of an instance removes it. */
const STALE_TEMP_MS = 10 * 60_000;

/** A decrypted file and where it came from (for error messages). */
export interface StoredFile {
  readonly path: string;
  readonly plaintext: Buffer;
}

export class EncryptedFileStore {
  /** The resolved directory; also what identifies the store to callers that serialize per directory. */
  readonly dir: string;
  readonly #secretsDir: string;
  readonly #keyPath: string;
  #key: Promise<Buffer> | undefined;
  #tempsSwept = false;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.#secretsDir = join(this.dir, "secrets");
    this.#keyPath = join(this.dir, "vault.key");
  }

  pathOf(name: string): string {
    return join(this.#secretsDir, `${createHash("sha256").update(name, "utf8").digest("hex")}.enc`);
  }

  /** The decrypted file of `name`, or undefined when there is none. Creates no key when there is no file. */
  async read(name: string): Promise<StoredFile | undefined> {
    const path = this.pathOf(name);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw ioError(`cannot read ${path}`, error);
    }
    return { path, plaintext: this.#decrypt(path, bytes, await this.#getKey()) };
  }

  /**
   * Every file, decrypted one at a time so the caller's check of one runs before the next is read.
   * An empty store yields nothing and creates nothing, not even the key.
   */
  async *entries(): AsyncGenerator<StoredFile> {
    const files = (await readdir(this.#secretsDir).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [] as string[];
      throw ioError(`cannot list ${this.#secretsDir}`, error);
    })).filter((f) => /^[0-9a-f]{64}\.enc$/.test(f));
    if (files.length === 0) return;
    const key = await this.#getKey();
    for (const file of files) {
      const path = join(this.#secretsDir, file);
      const bytes = await readFile(path).catch((error: unknown) => {
        // Replaced or removed between readdir and here: it is listed under its new name, or gone.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw ioError(`cannot read ${path}`, error);
      });
      if (bytes === undefined) continue;
      yield { path, plaintext: this.#decrypt(path, bytes, key) };
    }
  }

  async write(name: string, plaintext: Buffer): Promise<void> {
    const key = await this.#getKey();
    await mkdir(this.#secretsDir, { recursive: true, mode: 0o700 });
    if (!this.#tempsSwept) {
      this.#tempsSwept = true;
      await sweepStaleTemps(this.#secretsDir);
    }
    const path = this.pathOf(name);
    await writeAtomic(path, this.#encrypt(path, plaintext, key));
  }

  #encrypt(path: string, plaintext: Buffer, key: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(aad(path));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
  }

  #decrypt(path: string, bytes: Buffer, key: Buffer): Buffer {
    if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw corrupt(path, "is not a pullkeeper vault file (bad header)");
    }
    const iv = bytes.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
    const tag = bytes.subarray(MAGIC.length + IV_BYTES, HEADER_BYTES);
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAAD(aad(path));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES)), decipher.final()]);
    } catch (error) {
      throw corrupt(path, `failed authentication: it was modified or damaged, or it was not encrypted with ${this.#keyPath}`, error);
    }
  }

  /** The key: read (and its mode checked) once, created on first use. */
  #getKey(): Promise<Buffer> {
    this.#key ??= this.#loadOrCreateKey().catch((error: unknown) => {
      this.#key = undefined;
      throw error;
    });
    return this.#key;
  }

  async #loadOrCreateKey(): Promise<Buffer> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const existing = await readKey(this.#keyPath);
    if (existing !== undefined) return existing;
    // The key is written to a private temp file (mode 0600, flag wx) and published with link(),
    // which fails with EEXIST if another process got there first: whoever loses reads the
    // winner's key, and no process ever reads a half-written key file.
    const temp = tempPathFor(this.#keyPath);
    try {
      await createFile(temp, randomBytes(KEY_BYTES));
      try {
        await link(temp, this.#keyPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw ioError(`cannot create ${this.#keyPath}`, error);
      }
    } finally {
      await rm(temp, { force: true });
    }
    await syncDirectory(this.dir);
    const created = await readKey(this.#keyPath);
    if (created === undefined) throw new PullkeeperError("vault_io", `local vault: ${this.#keyPath} vanished right after it was created`);
    return created;
  }
}

export function corrupt(path: string, what: string, cause?: unknown): PullkeeperError {
  return new PullkeeperError("vault_corrupt", `local vault file ${path} ${what}; refusing to use it`, cause === undefined ? undefined : { cause });
}

function ioError(what: string, cause: unknown): PullkeeperError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? "unknown error";
  return new PullkeeperError("vault_io", `local vault: ${what} (${code})`, { cause });
}

function aad(path: string): Buffer {
  return Buffer.from(`pullkeeper-local-vault/${FILE_FORMAT}/${basename(path)}`, "utf8");
}

async function readKey(path: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw ioError(`cannot open ${path}`, error);
  }
  try {
    const { mode } = await handle.stat();
    if (process.platform !== "win32" && (mode & 0o077) !== 0) {
      throw new PullkeeperError(
        "vault_key_insecure",
        `local vault key ${path} is accessible to group or others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      );
    }
    const key = await handle.readFile();
    if (key.length !== KEY_BYTES) {
      throw new PullkeeperError("vault_key_invalid", `local vault key ${path} holds ${key.length} bytes, expected ${KEY_BYTES}`);
    }
    return key;
  } finally {
    await handle.close();
  }
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Replaces `path` with `data` all at once (replaceFile: temp file, fsync, rename, fsync of the
 * directory), the temp file named by tempPathFor so sweepStaleTemps finds it after a crash.
 */
async function writeAtomic(path: string, data: Buffer): Promise<void> {
  try {
    await replaceFile(path, data, { tempPath: tempPathFor });
  } catch (error) {
    throw ioError(`cannot write ${path}`, error);
  }
}

async function sweepStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  await Promise.all(
    names
      .filter((n) => n.startsWith(".") && n.endsWith(".tmp"))
      .map(async (n) => {
        const path = join(dir, n);
        const info = await stat(path).catch(() => undefined);
        if (info !== undefined && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
      }),
  );
}
