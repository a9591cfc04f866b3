import { describe, expect, it } from "vitest";
import { tally, tallyText } from "./audit-commands.js";
import { at, expiresIn, fit, plural, shortId, table, WIDTH } from "./format.js";

const delivery = (state: string, versionId: string, deliveredVersionId: string | null) => ({ state, versionId, deliveredVersionId, attempts: 1, lastError: null });

describe("CLI formatting", () => {
  it("says 'does not expire' for a version without an expiry, as the dashboard does", () => {
    expect(expiresIn({ expiresAt: null })).toBe("does not expire");
    expect(expiresIn(null)).toBe("—");
    expect(expiresIn({ expiresAt: new Date(Date.now() + 2 * 3_600_000 + 30_000).toISOString() })).toMatch(/^2h 0m$/);
  });

  it("counts in words with the right plural", () => {
    expect(plural(1, "registry", "registries")).toBe("1 registry");
    expect(plural(0, "consumer")).toBe("0 consumers");
    expect(plural(2, "environment")).toBe("2 environments");
  });

  it("shortens UUID version ids only, and gives times their zone", () => {
    expect(shortId("06ce9b55-467c-45be-aaa2-2a1ba96eb0ab")).toBe("06ce9b55");
    expect(shortId("v-new")).toBe("v-new");
    expect(at("2030-01-02T06:12:40.123Z")).toBe("2030-01-02 06:12:40 UTC");
    expect(at(null)).toBe("—");
  });

  it("fits a table with long cells into 100 columns, breaking words longer than a column", () => {
    const long = `invalid_target: docker config /tmp/${"x".repeat(80)}/config.json: ENOTDIR while resolving`;
    const text = table(["when", "what", "detail"], [["2030-01-01 06:12:40", "delivery failed", long]], fit([21, 21, null]));
    for (const line of text.split("\n")) expect(line.length).toBeLessThanOrEqual(WIDTH);
    expect(text.replace(/[│\s]/g, "")).toContain("x".repeat(40));
    expect(text).not.toContain("…");
  });

  it("propagate's bar fills with the consumers the wait is over for, which is what the summary counts", () => {
    // Two hold the version, one failed for good: the wait is over, so the bar is full, and the words say why.
    const rows = [
      { id: "a", declared: true, delivery: delivery("verified", "v2", "v2") },
      { id: "b", declared: true, delivery: delivery("delivered", "v2", "v2") },
      { id: "c", declared: true, delivery: delivery("failed", "v2", "v1") },
    ];
    const t = tally(rows, "v2");
    expect(t).toMatchObject({ holds: 2, failed: 1, settled: 3, total: 3 });
    expect(tallyText(t, "v2")).toBe("2/3 consumers hold v2, 1 failed for good");
    const waiting = tally([...rows, { id: "d", declared: true, delivery: delivery("retrying", "v2", "v1") }], "v2");
    expect(waiting).toMatchObject({ settled: 3, total: 4 });
    expect(tallyText(waiting, "v2")).toBe("2/4 consumers hold v2, 1 failed for good, 1 retrying");
  });
});
