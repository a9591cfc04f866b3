import { randomUUID } from "node:crypto";
import * as nodeFs from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * The one way pullkeeper replaces a file: the vault's documents, the htpasswd file, a docker
 * config.json and runtime.json all go through replaceFile().
 *
 * A temp file in the same directory (so the rename is atomic) is created exclusively with mode
 * 0600, written, given its exact mode (and, as root, its owner), fsynced and closed; an optional
 * hook runs on it; then it is renamed over the file and the directory is fsynced (best effort).
 * A reader sees the old file or the new one, never half of one. A failure before the rename
 * removes the temp file and rethrows the error as it came (callers map it to their own errors);
 * the old file is left as it was. Serializing writers of one file is the caller's business.
 *
 * Why not write-file-atomic: it has no hook between the last write and the rename (htpasswd sets
 * its mtime there), does not fsync the directory, names its temp files its own way (the vault
 * sweeps its own after a crash) and calls node:fs where tests cannot fail one call mid-write.
 */

/** The file operations replaceFile uses: swappable so a test can fail one of them mid-write. */
export type ReplaceFileFs = Pick<typeof nodeFs, "open" | "rename" | "rm">;

export interface FsOptions {
  /** Replaces some file operations (tests); the rest are node:fs/promises'. */
  readonly fs?: Partial<ReplaceFileFs> | undefined;
}

export interface ReplaceFileOptions extends FsOptions {
  /** The file's exact mode, set with chmod after the write whatever the umask; default 0600. */
  readonly mode?: number | undefined;
  /** The owner to keep; applied only when running as root (anyone else cannot chown). */
  readonly owner?: { readonly uid: number; readonly gid: number } | undefined;
  /** The temp file's path for `path`, which must be in the same directory; default `.<name>.pullkeeper-<uuid>.tmp`. */
  readonly tempPath?: ((path: string) => string) | undefined;
  /** Runs on the complete, closed temp file just before the rename (htpasswd sets its mtime there). */
  readonly beforeRename?: ((tempPath: string) => Promise<void>) | undefined;
  /** fsync the directory after the rename so the rename is durable (best effort); default true. */
  readonly syncDirectory?: boolean | undefined;
}

/** Replaces `path` with `data` all at once; see the module comment. */
export async function replaceFile(path: string, data: string | Uint8Array, options: ReplaceFileOptions = {}): Promise<void> {
  const fs: ReplaceFileFs = { ...nodeFs, ...options.fs };
  const temp = (options.tempPath ?? defaultTempPath)(path);
  try {
    await writeNew(fs, temp, data, options);
    await options.beforeRename?.(temp);
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  if (options.syncDirectory ?? true) await syncDirectory(dirname(path), options);
}

/** Creates `path`, which must not exist (flag wx), with mode 0600 and `data`, fsynced. */
export async function createFile(path: string, data: string | Uint8Array, options: FsOptions = {}): Promise<void> {
  await writeNew({ ...nodeFs, ...options.fs }, path, data, {});
}

function defaultTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.pullkeeper-${randomUUID()}.tmp`);
}

async function writeNew(fs: ReplaceFileFs, path: string, data: string | Uint8Array, options: Pick<ReplaceFileOptions, "mode" | "owner">): Promise<void> {
  const handle = await fs.open(path, "wx", 0o600);
  try {
    await handle.writeFile(data);
    await handle.chmod(options.mode ?? 0o600); // exact, whatever the umask
    if (options.owner !== undefined && process.getuid?.() === 0) await handle.chown(options.owner.uid, options.owner.gid);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename (or link) in `dir` durable. Not every platform can open or fsync a directory (Windows): best effort, never throws. */
export async function syncDirectory(dir: string, options: FsOptions = {}): Promise<void> {
  const fs: ReplaceFileFs = { ...nodeFs, ...options.fs };
  let handle: nodeFs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, "r");
    await handle.sync();
  } catch {
    // The new file is in place either way; atomicity does not depend on this.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
