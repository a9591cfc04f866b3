import { describe, expect, it } from "vitest";
import { lazy } from "./lazy.js";

describe("lazy", () => {
  it("builds once and keeps the value", async () => {
    let builds = 0;
    const get = lazy(async () => ++builds);
    expect(await Promise.all([get(), get(), get()])).toEqual([1, 1, 1]);
    expect(builds).toBe(1);
  });

  it("forgets a failed build, so the next call tries again", async () => {
    let builds = 0;
    const get = lazy(() => {
      builds++;
      if (builds === 1) throw new Error("table not set");
      return "ready";
    });
    await expect(get()).rejects.toThrow("table not set");
    expect(await get()).toBe("ready");
    expect(builds).toBe(2);
  });
});
