import { describe, expect, it } from "vitest";
import { PageCache } from "./page-cache.js";

const page = (n: number, tag = "") => ({ items: Array.from({ length: n }, (_, i) => `${tag}${i}`) });

describe("PageCache", () => {
  it("holds at most maxItems (items plus one per page), dropping the least recently used first", async () => {
    const cache = new PageCache<{ items: string[] }>({ maxItems: 100 });
    for (let i = 0; i < 50; i++) {
      await cache.get("g1", `k${i}`, async () => page(24, `k${i}-`));
      // k0 is used after every insert, so it stays while older ones go.
      await cache.get("g1", "k0", async () => page(24, "again-"));
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.size).toBe(100);
    expect(await cache.get("g1", "k0", async () => page(1, "reread-"))).toEqual(page(24, "k0-"));
    expect(await cache.get("g1", "k1", async () => page(1, "reread-"))).toEqual(page(1, "reread-"));
  });

  it("empty pages count too, so endless distinct keys cannot grow it", async () => {
    const cache = new PageCache<{ items: string[] }>({ maxItems: 10 });
    for (let i = 0; i < 1000; i++) await cache.get("g", `cursor-${i}`, async () => page(0));
    expect(cache.size).toBe(10);
  });

  it("forgets everything when the generation moves", async () => {
    const cache = new PageCache<{ items: string[] }>({ maxItems: 100 });
    await cache.get("g1", "k", async () => page(3, "old-"));
    expect(await cache.get("g2", "k", async () => page(2, "new-"))).toEqual(page(2, "new-"));
    expect(cache.size).toBe(3);
  });

  it("reads a page asked for by many at once once, and keeps no failure", async () => {
    const cache = new PageCache<{ items: string[] }>({ maxItems: 100 });
    let reads = 0;
    let release = () => undefined as void;
    const gate = new Promise<void>((r) => (release = r));
    const read = async () => {
      reads += 1;
      await gate;
      return page(2);
    };
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get("g", "k", read)));
    release();
    expect(new Set(await all).size).toBe(1);
    expect(reads).toBe(1);
    await expect(cache.get("g", "bad", async () => Promise.reject(new Error("throttled")))).rejects.toThrow("throttled");
    expect(await cache.get("g", "bad", async () => page(1, "ok-"))).toEqual(page(1, "ok-"));
  });

  it("does not keep a page read under a generation that was replaced meanwhile", async () => {
    const cache = new PageCache<{ items: string[] }>({ maxItems: 100 });
    let release = () => undefined as void;
    const slow = cache.get("g1", "k", () => new Promise((r) => (release = () => r(page(2, "old-")))));
    await cache.get("g2", "other", async () => page(1));
    release();
    await slow;
    expect(await cache.get("g2", "k", async () => page(1, "fresh-"))).toEqual(page(1, "fresh-"));
  });
});
