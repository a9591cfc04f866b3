import Table from "cli-table3";

/** "5h 12m", "42s", "expired 3m ago": how long until (or since) `iso`, for people. */
export function until(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const ms = new Date(iso).getTime() - now;
  const abs = Math.abs(ms);
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor((abs % 86_400_000) / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = Math.floor((abs % 60_000) / 1000);
  const text = d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
  return ms < 0 ? `expired ${text} ago` : text;
}

/** A current version's "expires in" cell: a managed secret without an expiry says so, as the dashboard does. */
export function expiresIn(current: { expiresAt: string | null } | null | undefined, now = Date.now()): string {
  if (!current) return "—";
  return current.expiresAt ? until(current.expiresAt, now) : "does not expire";
}

/** "1 registry", "2 registries", "0 consumers". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A version id for a narrow column: a UUID's first block, which is what people compare by eye (the full id is in --json). */
export function shortId(id: string | null | undefined): string {
  if (!id) return "—";
  return /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(id) ? id.slice(0, 8) : id;
}

/** "2026-12-02 06:12:05 UTC": a time a person reads, with its zone. */
export function at(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "in 3h 12m" (or "now" once due). */
export function inTime(iso: string, now = Date.now()): string {
  const text = until(iso, now);
  return text.startsWith("expired") ? "now" : `in ${text}`;
}

/** The width tables are fitted to: a terminal's own, at most 100 columns (also when piped). */
export const WIDTH = 100;

/**
 * A table. With `widths`, columns are fixed (cli-table3 counts the padding in them) and long
 * cells wrap, so a table stays within WIDTH columns however long a cause or an id is.
 */
export function table(head: string[], rows: string[][], widths?: number[]): string {
  const t = new Table({ head, style: { head: [], border: [] }, ...(widths && { colWidths: widths, wordWrap: true }) });
  // cli-table3 wraps at spaces and cuts what is still too long with "…": a long path or id is broken onto lines instead.
  t.push(...(widths ? rows.map((row) => row.map((cell, i) => breakLong(cell, (widths[i] ?? WIDTH) - 2))) : rows));
  return t.toString();
}

/** Column widths that fit WIDTH: `fixed` as given (null: shares what is left equally). */
export function fit(fixed: (number | null)[], width = WIDTH): number[] {
  // One border per column plus the closing one.
  const free = width - (fixed.length + 1) - fixed.reduce<number>((sum, w) => sum + (w ?? 0), 0);
  const flexible = fixed.filter((w) => w === null).length;
  return fixed.map((w) => w ?? Math.max(8, Math.floor(free / Math.max(1, flexible))));
}

function breakLong(text: string, max: number): string {
  return text.replace(/\S+/g, (word) => (word.length <= max ? word : (word.match(new RegExp(`.{1,${max}}`, "g")) ?? [word]).join("\n")));
}
