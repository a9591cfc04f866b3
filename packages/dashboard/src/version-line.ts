import { h } from "./dom.js";
import { describeEntry, formatTime, plural, type VersionSpan } from "./format.js";
import type { HistoryView, RegistryView } from "./views.js";

/** A registry's versions on a time line: an inline SVG drawn here (no chart library for a few rectangles). */

const SVG = "http://www.w3.org/2000/svg";

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number | undefined> = {}, ...children: (Node | string | false | null | undefined)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, String(value));
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

const shortVersion = (id: string) => (/^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(id) ? id.slice(0, 8) : id);

/**
 * One registry's line: a bar per version while it was current (the current one up to now, then a
 * dashed run to its expiry), a red mark per failed delivery, ticks at both ends with their zone.
 */
export function versionLine(r: RegistryView, spans: readonly VersionSpan[], history: readonly HistoryView[], now: Date, width: number): HTMLElement {
  // Drawn at the width it is shown at (not stretched), so its text keeps its shape.
  const W = Math.max(320, Math.round(width));
  const H = 64;
  const top = 8;
  const barH = 26;
  const nowMs = now.getTime();
  const failures = history.filter((e) => e.type === "delivery-failed" || e.type === "refresh-failed" || e.type === "verification-failed");
  const expiry = spans.find((x) => x.role === "current")?.expiresAt ?? null;
  // The window fits what there is to show (half a minute at least, thirty days at most), so a day-old
  // rotation and one from a minute ago are both visible; then room up to the current version's expiry.
  const earliest = Math.min(nowMs - 30_000, ...spans.map((x) => x.start), ...failures.map((e) => Date.parse(e.at)));
  const past = Math.min(nowMs - earliest, 30 * 86_400_000);
  const from = nowMs - past * 1.03;
  const to = Math.max(nowMs + past * 0.12, expiry !== null ? Math.min(expiry, nowMs + Math.max(past, 86_400_000)) : 0);
  const x = (t: number) => Math.round(Math.min(W, Math.max(0, ((t - from) / (to - from)) * W)) * 10) / 10;
  const label = `${r.id}: ${plural(spans.length, "version")} from ${formatTime(new Date(from).toISOString())} to now`;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": label, "data-testid": "version-line" });
  svg.append(s("rect", { x: 0, y: top, width: W, height: barH, class: "track" }));
  for (const span of spans) {
    const x0 = x(span.start);
    const x1 = x(span.end ?? nowMs);
    const title = `version ${span.versionId} (${span.role}${span.revoked ? ", revoked" : ""}): from ${formatTime(new Date(span.start).toISOString())}${span.end !== null ? ` to ${formatTime(new Date(span.end).toISOString())}` : " until now"}${span.deliveredTo ? `; delivered to ${span.deliveredTo.consumers} of ${plural(span.deliveredTo.of, "consumer")}` : ""}${span.heldBy !== null ? `; held by ${plural(span.heldBy, "running environment")}` : ""}${span.expiresAt !== null ? `; expires ${formatTime(new Date(span.expiresAt).toISOString())}` : ""}`;
    const g = s("g", { "data-testid": "version-span", "data-version-id": span.versionId, "data-role": span.role }, s("title", {}, title));
    g.append(s("rect", { x: x0, y: top, width: Math.max(2, x1 - x0), height: barH, class: `span ${span.role}${span.revoked ? " revoked" : ""}` }));
    const text = `${shortVersion(span.versionId)}${span.deliveredTo ? ` · ${span.deliveredTo.consumers}/${span.deliveredTo.of} hold it` : ""}`;
    // A label only where it fits (about 6 units a character at this size).
    if (x1 - x0 > text.length * 6.5 + 8) g.append(s("text", { x: x0 + 4, y: top + barH / 2 + 4, class: "span-label" }, text));
    svg.append(g);
    if (span.role === "current" && span.expiresAt !== null && span.expiresAt > nowMs) {
      svg.append(s("line", { x1: x(nowMs), x2: x(Math.min(span.expiresAt, to)), y1: top + barH / 2, y2: top + barH / 2, class: "to-expiry" }, s("title", {}, `expires ${formatTime(new Date(span.expiresAt).toISOString())}`)));
      if (span.expiresAt <= to) svg.append(s("line", { x1: x(span.expiresAt), x2: x(span.expiresAt), y1: top - 4, y2: top + barH + 4, class: "expiry", "data-testid": "expiry-mark" }));
    }
  }
  for (const e of failures) {
    const fx = x(Date.parse(e.at));
    svg.append(s("path", { d: `M${fx - 5} ${top + barH + 10} L${fx + 5} ${top + barH + 10} L${fx} ${top + barH + 2} Z`, class: "failure-mark", "data-testid": "failure-mark" }, s("title", {}, `${formatTime(e.at)}: ${describeEntry(e, (iso) => formatTime(iso)).text}`)));
  }
  svg.append(s("line", { x1: x(nowMs), x2: x(nowMs), y1: top - 6, y2: top + barH + 6, class: "now" }));
  svg.append(s("text", { x: 2, y: H - 2, class: "axis" }, formatTime(new Date(from).toISOString())));
  svg.append(s("text", { x: Math.min(x(nowMs), W - 2), y: H - 2, class: "axis", "text-anchor": x(nowMs) > W - 150 ? "end" : "middle" }, `now ${formatTime(now.toISOString(), { date: false })}`));
  const counts = r.environments?.counts;
  const legend = h(
    "div",
    { class: "line-legend" },
    h("strong", {}, r.id),
    " ",
    spans.length === 0 ? h("span", { class: "muted" }, "no version yet") : h("span", { class: "muted" }, plural(spans.length, "version")),
    " · ",
    counts ? h("span", { class: counts.stale + counts.expired + counts.doomed > 0 ? "hot" : "muted", "data-testid": "line-stale" }, `${counts.stale} stale, ${counts.expired} expired, ${counts.doomed} doomed`) : h("span", { class: "muted" }, "not scanned yet"),
    failures.length > 0 && h("span", { class: "hot" }, ` · ${plural(failures.length, "failure")}`),
  );
  return h("div", { class: "line", "data-testid": "registry-line", "data-registry-id": r.id }, legend, svg);
}
