import { type FSWatcher, watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";

export interface ConfigWatchOptions {
  /** Changes closer together than this are one change (default 250 ms). */
  readonly debounceMs?: number;
  readonly log: (line: string) => void;
}

/**
 * Calls `changed` once the config file has been written: its directory is watched, not the file,
 * because editors save by writing a new file and renaming it over the old one (a watch on the
 * file would follow the old inode and go quiet), and a save is several events (write, rename,
 * chmod), so they are folded into one call after a short quiet spell. Returns the stop function.
 */
export function watchConfigFile(path: string, changed: () => void, options: ConfigWatchOptions): () => Promise<void> {
  const full = resolve(path);
  const name = basename(full);
  const debounceMs = options.debounceMs ?? 250;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;
  const fire = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      changed();
    }, debounceMs);
  };
  try {
    watcher = watch(dirname(full), { persistent: false }, (_event, filename) => {
      // Some platforms give no name: then any change in the directory may be ours.
      if (filename === null || filename === name) fire();
    });
    watcher.on("error", (error) => options.log(`config: stopped watching ${full} (${error.message}); send SIGHUP to reload`));
  } catch (error) {
    options.log(`config: cannot watch ${full} (${(error as Error).message}); send SIGHUP to reload`);
  }
  return async () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    watcher?.close();
  };
}
