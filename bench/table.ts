import type { Result } from "./result.js";

/**
 * docs/benchmarks.md as `npm run bench` leaves it: every figure with its bound and ratio, the
 * ones over their bound marked, so the README's link always shows the last full run's numbers.
 */
export function benchmarksMarkdown(results: readonly Result[], meta: { commit: string; date: string; node: string; cpus: number }): string {
  const over = results.filter((r) => r.ratio !== undefined && r.ratio > 1);
  const rows = results.map((r) => `| \`${r.name}\` | ${format(r.value)} | ${r.unit} | ${r.bound === undefined ? "" : format(r.bound)} | ${r.ratio === undefined ? "" : `${r.ratio}${r.ratio > 1 ? " **over**" : ""}`} |`);
  return [
    "# Benchmarks",
    "",
    `Written by \`npm run bench\` (bench/run.ts; the same figures as JSON in bench/results.json). Last full run: commit ${meta.commit}, ${meta.date}, Node ${meta.node}, ${meta.cpus} CPUs.`,
    "What each figure measures and why its bound is what it is: the comments in bench/*.ts and docs/testing.md (\"Benchmarks\").",
    "Ratios are value/bound: at most 1 is within the bound.",
    "",
    over.length === 0 ? "Every ratio is within its bound." : `Over their bound: ${over.map((r) => `\`${r.name}\` (${r.ratio})`).join(", ")}.`,
    "",
    "| figure | value | unit | bound | ratio |",
    "| --- | ---: | --- | ---: | ---: |",
    ...rows,
    "",
  ].join("\n");
}

function format(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 3 });
}
