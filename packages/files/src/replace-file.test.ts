import * as nodeFs from "node:fs/promises";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createFile, replaceFile, syncDirectory } from "./replace-file.js";

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pullkeeper-files-"));
  file = join(dir, "data.txt");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const failure = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

describe("replaceFile", () => {
  it("replaces the file whole, shorter or longer, and leaves no temp file", async () => {
    await writeFile(file, "a much longer old content\n".repeat(10));
    await replaceFile(file, "new\n");
    expect(await readFile(file, "utf8")).toBe("new\n");
    await replaceFile(file, Buffer.from([0, 1, 2, 255]));
    expect([...(await readFile(file))]).toEqual([0, 1, 2, 255]);
    expect(await readdir(dir)).toEqual(["data.txt"]);
  });

  it("creates a missing file, 0600 by default", async () => {
    await replaceFile(file, "first");
    expect(await readFile(file, "utf8")).toBe("first");
    expect((await stat(file)).mode & 0o7777).toBe(0o600);
  });

  it("sets the mode exactly, whatever the umask and the old file's mode", async () => {
    await writeFile(file, "old", { mode: 0o600 });
    const umask = process.umask(0o077);
    try {
      await replaceFile(file, "new", { mode: 0o644 });
    } finally {
      process.umask(umask);
    }
    expect((await stat(file)).mode & 0o7777).toBe(0o644);
    await replaceFile(file, "newer", { mode: 0o640 });
    expect((await stat(file)).mode & 0o7777).toBe(0o640);
  });

  it("keeps the owner it is given (a no-op unless root)", async () => {
    const { uid, gid } = await stat(dir);
    await replaceFile(file, "x", { owner: { uid, gid } });
    expect(await stat(file)).toMatchObject({ uid, gid });
  });

  it("removes the temp file and keeps the old file when the write fails", async () => {
    await writeFile(file, "old");
    const open: typeof nodeFs.open = async (...args: Parameters<typeof nodeFs.open>) => {
      const handle = await nodeFs.open(...args);
      if (String(args[0]).endsWith(".tmp")) {
        handle.writeFile = async () => {
          throw failure("ENOSPC");
        };
      }
      return handle;
    };
    await expect(replaceFile(file, "new", { fs: { open } })).rejects.toMatchObject({ code: "ENOSPC" });
    expect(await readFile(file, "utf8")).toBe("old");
    expect(await readdir(dir)).toEqual(["data.txt"]);
  });

  it("removes the complete temp file and keeps the old file when the rename fails", async () => {
    await writeFile(file, "old");
    let temp: string | undefined;
    const rename = vi.fn(async (from: string) => {
      temp = from;
      expect(await readFile(from, "utf8")).toBe("new");
      throw failure("EIO");
    });
    await expect(replaceFile(file, "new", { fs: { rename: rename as unknown as typeof nodeFs.rename } })).rejects.toMatchObject({ code: "EIO" });
    expect(rename).toHaveBeenCalledOnce();
    expect(temp?.startsWith(`${dir}/.data.txt.pullkeeper-`)).toBe(true); // same directory: the rename is atomic
    expect(await readFile(file, "utf8")).toBe("old");
    expect(await readdir(dir)).toEqual(["data.txt"]);
  });

  it("runs beforeRename on the complete, closed temp file, before the rename; its failure aborts the write", async () => {
    await writeFile(file, "old");
    const seen: string[] = [];
    await replaceFile(file, "new", {
      tempPath: (path) => `${path}.my-temp.tmp`,
      beforeRename: async (temp) => {
        expect(temp).toBe(`${file}.my-temp.tmp`);
        seen.push(await readFile(temp, "utf8"), await readFile(file, "utf8"));
        await nodeFs.utimes(temp, 1_000_000, 1_000_000);
      },
    });
    expect(seen).toEqual(["new", "old"]);
    expect((await stat(file)).mtimeMs).toBe(1_000_000_000); // what the hook set is what was renamed in

    await expect(replaceFile(file, "newer", { beforeRename: async () => Promise.reject(failure("EPERM")) })).rejects.toMatchObject({ code: "EPERM" });
    expect(await readFile(file, "utf8")).toBe("new");
    expect(await readdir(dir)).toEqual(["data.txt"]);
  });

  it("fsyncs the directory, and tolerates a directory that cannot be opened or fsynced", async () => {
    const opened: string[] = [];
    const open = (failWith?: "open" | "sync"): typeof nodeFs.open =>
      async (...args: Parameters<typeof nodeFs.open>) => {
        if (args[0] !== dir) return nodeFs.open(...args);
        opened.push(String(args[0]));
        if (failWith === "open") throw failure("EISDIR");
        const handle = await nodeFs.open(...args);
        if (failWith === "sync") handle.sync = async () => Promise.reject(failure("EINVAL"));
        return handle;
      };
    await replaceFile(file, "one", { fs: { open: open() } });
    await replaceFile(file, "two", { fs: { open: open("open") } });
    await replaceFile(file, "three", { fs: { open: open("sync") } });
    expect(opened).toEqual([dir, dir, dir]);
    expect(await readFile(file, "utf8")).toBe("three");
    await replaceFile(file, "four", { fs: { open: open() }, syncDirectory: false });
    expect(opened).toHaveLength(3);
    await expect(syncDirectory(join(dir, "missing"))).resolves.toBeUndefined();
  });
});

describe("createFile", () => {
  it("creates a new file 0600 and refuses one that exists", async () => {
    await createFile(file, "key");
    expect(await readFile(file, "utf8")).toBe("key");
    expect((await stat(file)).mode & 0o7777).toBe(0o600);
    await expect(createFile(file, "other")).rejects.toMatchObject({ code: "EEXIST" });
    expect(await readFile(file, "utf8")).toBe("key");
  });
});
