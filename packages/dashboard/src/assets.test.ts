import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { buildDashboardAssets, GENERATED_PATH, generatedModule } from "./build.js";
import { dashboardAssets } from "./index.js";

describe("dashboard assets", () => {
  it("the committed src/generated/assets.ts is what the sources build to", async () => {
    const fresh = generatedModule(await buildDashboardAssets());
    const committed = await readFile(GENERATED_PATH, "utf8");
    expect(committed === fresh, "packages/dashboard/src/generated/assets.ts is stale: run npm run build:dashboard and commit it").toBe(true);
  }, 60_000);

  it("the page loads the one script relative to itself, and the script is small", () => {
    expect(dashboardAssets.html).toContain('<script src="dashboard.js" defer></script>');
    expect(dashboardAssets.html.startsWith("<!doctype html>")).toBe(true);
    expect(Buffer.byteLength(dashboardAssets.script)).toBeLessThan(30_000);
    // Type-only imports of the core: none of its runtime (zod, yaml) is in the browser bundle.
    expect(dashboardAssets.script).not.toMatch(/zod|ZodError|yaml/i);
  });
});
