import { h, time } from "./dom.js";
import { describeEntry, expiryOf, formatDuration, formatTime, nextStep, plural, safeUrl } from "./format.js";
import type { ConsumerView, EnvironmentView, HistoryView, RegistryView } from "./views.js";

/** The dashboard's table rows and list items: a registry, an environment holding an old credential, a consumer's delivery, a history entry. */

function expiryCell(r: RegistryView, now: Date): HTMLTableCellElement {
  if (!r.current) return h("td", { class: "muted" }, "no version yet");
  const expiry = expiryOf(r.current, now);
  if (!expiry) return h("td", { class: "muted", "data-testid": "expiry" }, "does not expire");
  const percent = Math.round(expiry.fraction * 100);
  const fill = h("span", { class: expiry.level });
  fill.style.width = `${percent}%`;
  const bar = h("div", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent), "aria-valuetext": expiry.label, "aria-label": `${r.id}: time to expiry`, "data-testid": "expiry-bar" }, fill);
  return h("td", { "data-testid": "expiry" }, bar, h("span", { class: expiry.level === "expired" ? "muted expired-text" : "muted" }, expiry.label));
}

function countCells(r: RegistryView): HTMLTableCellElement[] {
  if (!r.environments) return [h("td", { colspan: "3", class: "muted", "data-testid": "not-scanned" }, "not scanned yet")];
  const { counts } = r.environments;
  return (["stale", "expired", "doomed"] as const).map((v) => h("td", { class: counts[v] > 0 ? "num hot" : "num", "data-testid": `count-${v}` }, String(counts[v])));
}

/** The previous version under the current one: kept (and why) until it is revoked. */
function previousLine(r: RegistryView): HTMLElement | false {
  if (!r.previous) return false;
  const text = r.previous.revoked
    ? `previous ${r.previous.versionId}: revoked (${r.previous.revoked.reason})`
    : r.revocation?.versionId === r.previous.versionId && r.revocation.state === "waiting"
      ? `previous ${r.previous.versionId}: kept: ${r.revocation.reason}`
      : `previous ${r.previous.versionId}: not revoked yet`;
  return h("div", { class: "muted", "data-testid": "previous" }, text);
}

export function registryRow(r: RegistryView, now: Date): HTMLTableRowElement {
  const version = r.current
    ? h("td", {}, h("code", { title: r.current.versionId }, r.current.versionId), " ", h("span", { class: "muted" }, `verified: ${r.current.verification.status}`), previousLine(r))
    : h("td", { class: "muted" }, "none yet");
  const scan = r.environments
    ? h("td", {}, time(r.environments.scannedAt), r.environments.discoveryFailures > 0 && h("div", { class: "muted" }, plural(r.environments.discoveryFailures, "discovery failure")))
    : h("td", { class: "muted" }, "—");
  return h(
    "tr",
    { "data-testid": "registry", "data-registry-id": r.id },
    h("th", { scope: "row" }, r.id),
    h("td", {}, r.host),
    h("td", {}, `${r.source} (${r.kind})`),
    version,
    expiryCell(r, now),
    ...countCells(r),
    scan,
  );
}

export function environmentRow(e: EnvironmentView): HTMLTableRowElement {
  const link = safeUrl(e.url);
  return h(
    "tr",
    { "data-testid": "environment", "data-verdict": e.verdict, "data-environment-id": e.id },
    h("th", { scope: "row" }, link ? h("a", { href: link, rel: "noopener noreferrer", target: "_blank" }, e.name) : e.name),
    h("td", {}, e.registry),
    h("td", {}, e.consumer),
    h("td", {}, e.kind),
    h("td", {}, h("span", { class: `verdict ${e.verdict}` }, e.verdict)),
    h("td", { "data-testid": "for", title: `since ${e.verdictSince}` }, `${e.verdict} for ${formatDuration(e.forSeconds)}`),
    h("td", {}, time(e.startedAt)),
    h("td", {}, e.reason, e.detail !== null && h("div", { class: "muted" }, e.detail)),
  );
}

/** A version id short enough for a cell; the whole id is in its title. */
function versionCode(versionId: string | null, current: string | undefined): Node {
  if (versionId === null) return h("span", { class: "muted" }, "none");
  const short = /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(versionId) ? versionId.slice(0, 8) : versionId;
  return h("span", {}, h("code", { title: versionId }, short), versionId === current ? h("span", { class: "muted" }, " (current)") : current !== undefined && h("span", { class: "muted" }, " (old)"));
}

export function consumerRow(c: ConsumerView, currentOf: ReadonlyMap<string, string>, now: Date): HTMLTableRowElement {
  const d = c.delivery;
  const current = currentOf.get(c.registry);
  const open = d !== null && (d.state === "failed" || d.state === "retrying" || d.state === "pending");
  const when = d?.state === "retrying" ? d.nextAttemptAt : d?.state === "failed" ? d.redriveAt : null;
  const state = d === null ? "never" : d.state;
  return h(
    "tr",
    { "data-testid": "delivery", "data-state": state, "data-consumer-id": c.id },
    h("th", { scope: "row" }, c.id),
    h("td", {}, c.registry),
    h("td", {}, c.kind),
    h(
      "td",
      {},
      h("span", { class: `state ${state}` }, state === "failed" ? "failed for good" : state === "never" ? "never delivered" : state),
      d !== null && d.attempts > 1 && h("div", { class: "muted" }, `${d.attempts} attempts`),
    ),
    h("td", { "data-testid": "held" }, versionCode(d?.deliveredVersionId ?? null, current), open && d !== null && h("div", { class: "muted" }, "asked for ", versionCode(d.versionId, undefined))),
    h("td", { "data-testid": "next" }, open && d !== null ? nextStep(d, now) : d?.deliveredAt ? h("span", { class: "muted" }, "delivered ", time(d.deliveredAt)) : h("span", { class: "muted" }, "—"), when != null && h("div", {}, time(when))),
    h("td", { "data-testid": "cause" }, d?.lastError && open ? `${d.lastError.code}: ${d.lastError.message}` : h("span", { class: "muted" }, "—")),
  );
}

export function timelineItem(entry: HistoryView): HTMLLIElement {
  const { text, failure } = describeEntry(entry, (iso) => formatTime(iso));
  return h("li", { "data-testid": "timeline-entry", "data-type": entry.type, class: failure ? "failure" : undefined }, time(entry.at), h("span", { class: "registry-tag" }, entry.registryId), h("span", { class: "what" }, text));
}
