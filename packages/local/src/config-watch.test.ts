import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { watchConfigFile } from "./config-watch.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function watched(debounceMs = 100) {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-watch-"));
  const path = join(dir, "pullkeeper.yaml");
  await writeFile(path, "registries: []\n");
  let calls = 0;
  const stop = watchConfigFile(path, () => void calls++, { debounceMs, log: () => undefined });
  cleanups.push(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  // inotify is armed by the time watch() returns; a tick lets its first events settle.
  await new Promise((r) => setTimeout(r, 50));
  return { dir, path, calls: () => calls };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("watchConfigFile", () => {
  it("folds a burst of writes into one call, after the burst", async () => {
    // A long debounce against short pauses: a loaded machine must not split the burst.
    const { path, calls } = await watched(400);
    for (let i = 0; i < 5; i++) {
      await writeFile(path, `registries: [] # ${i}\n`);
      await pause(20);
    }
    expect(calls()).toBe(0);
    await pause(800);
    expect(calls()).toBe(1);
  });

  it("sees an editor's save (a new file renamed over the old one), and not other files in the directory", async () => {
    const { dir, path, calls } = await watched();
    await writeFile(join(dir, "notes.txt"), "unrelated\n");
    await pause(300);
    expect(calls()).toBe(0);
    await writeFile(`${path}.tmp`, "registries: [] # saved\n");
    await rename(`${path}.tmp`, path);
    await pause(300);
    expect(calls()).toBe(1);
    // Still watching after the rename replaced the file it started with.
    await writeFile(path, "registries: [] # again\n");
    await pause(300);
    expect(calls()).toBe(2);
  });

  it("calls nothing once stopped, not even for a change already waiting out its debounce", async () => {
    const { path, calls } = await watched();
    await writeFile(path, "registries: [] # late\n");
    await pause(20);
    await cleanups.splice(0)[0]?.();
    await pause(300);
    expect(calls()).toBe(0);
  });
});
