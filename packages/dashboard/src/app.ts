import { consumerRows, describeEntry, expiryOf, formatDuration, formatTime, mergeTimeline, nextStep, plural, safeUrl, tokenFromHash, type VersionSpan, versionSpans } from "./format.js";
import type { ApiErrorBody, ConsumerView, EnvironmentView, HistoryView, ListBody, RegistryView, VersionsBody } from "./views.js";

/**
 * The dashboard's script: reads the audit API (/v1) like any client and draws five things —
 * registries with time to expiry and verdict counts, each registry's versions on a time line (an
 * inline SVG: when each was current, delivered to how many, failures, expiry), every consumer's
 * delivery (failed for good, retrying with their next attempt, under way, done), the environments
 * that hold an old credential, and a list of rotations and failures. Plain DOM; every value goes in
 * as text, never as HTML.
 */

const TOKEN_KEY = "pullkeeper.token";
const REFRESH_MS = 30_000;
const MAX_PAGES = 5;
/** Fetched and listed in this order: expired first (broken now), doomed (a restart will not help), stale. */
const VERDICTS = ["expired", "doomed", "stale"] as const;
const RANK: Readonly<Record<string, number>> = { expired: 0, doomed: 1, stale: 2 };

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// ---- the token: from #token=..., kept in sessionStorage (this tab only), never left in the URL ----

let memoryToken: string | undefined;

function token(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return memoryToken;
  }
}

function setToken(value: string | undefined): void {
  memoryToken = value;
  try {
    if (value === undefined) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    // Storage blocked: the token lives in memory for this page.
  }
}

function takeTokenFromUrl(): void {
  const { token: fromHash, rest } = tokenFromHash(location.hash);
  if (fromHash === undefined) return;
  setToken(fromHash);
  history.replaceState(history.state, "", `${location.pathname}${location.search}${rest}`);
}

// ---- the API ----

async function getJson<T>(path: string): Promise<T> {
  const bearer = token();
  // Relative to the page, so the dashboard also works under a proxy's path prefix.
  const response = await fetch(new URL(path, document.baseURI), { headers: bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}, cache: "no-store" });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = (body ?? {}) as Partial<ApiErrorBody>;
    throw new ApiError(response.status, error.code ?? `http_${response.status}`, error.message ?? response.statusText);
  }
  return body as T;
}

/** Follows the cursor for a few pages; `more` says there was more than that. */
async function pages<T>(path: string): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let read = 0;
  do {
    const page: ListBody<T> = await getJson<ListBody<T>>(cursor === null ? path : `${path}&cursor=${encodeURIComponent(cursor)}`);
    items.push(...page.items);
    cursor = page.cursor;
    read += 1;
  } while (cursor !== null && read < MAX_PAGES);
  return { items, more: cursor !== null };
}

interface Snapshot {
  readonly registries: { items: RegistryView[]; more: boolean };
  readonly consumers: { items: ConsumerView[]; more: boolean };
  readonly environments: { items: EnvironmentView[]; more: boolean };
  readonly timeline: HistoryView[];
  /** Per registry (same order): its history and versions, for its time line. */
  readonly histories: HistoryView[][];
  readonly versions: (VersionsBody | null)[];
}

async function fetchSnapshot(): Promise<Snapshot> {
  const registries = await pages<RegistryView>("v1/registries?limit=100");
  const [byVerdict, histories, consumers, versions] = await Promise.all([
    Promise.all(VERDICTS.map((v) => pages<EnvironmentView>(`v1/environments?verdict=${v}&limit=100`))),
    Promise.all(registries.items.map((r) => getJson<ListBody<HistoryView>>(`v1/registries/${encodeURIComponent(r.id)}/history?limit=50`).then((b) => [...b.items]))),
    pages<ConsumerView>("v1/consumers?limit=100"),
    // A registry whose versions cannot be read still gets its line from its history.
    Promise.all(registries.items.map((r) => getJson<VersionsBody>(`v1/registries/${encodeURIComponent(r.id)}/versions`).catch(() => null))),
  ]);
  const environments = byVerdict.flatMap((p) => p.items).sort((a, b) => (RANK[a.verdict] ?? 3) - (RANK[b.verdict] ?? 3) || b.forSeconds - a.forSeconds);
  return {
    registries,
    consumers: { items: consumerRows(consumers.items), more: consumers.more },
    environments: { items: environments, more: byVerdict.some((p) => p.more) },
    timeline: mergeTimeline(histories),
    histories,
    versions,
  };
}

// ---- drawing ----

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function time(iso: string | null): Node {
  if (iso === null) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: iso }, formatTime(iso));
}

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

function registryRow(r: RegistryView, now: Date): HTMLTableRowElement {
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

function environmentRow(e: EnvironmentView): HTMLTableRowElement {
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

function consumerRow(c: ConsumerView, currentOf: ReadonlyMap<string, string>, now: Date): HTMLTableRowElement {
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

// ---- the versions' time line: inline SVG, drawn here (no chart library for a few rectangles) ----

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
function versionLine(r: RegistryView, spans: readonly VersionSpan[], history: readonly HistoryView[], now: Date, width: number): HTMLElement {
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

function timelineItem(entry: HistoryView): HTMLLIElement {
  const { text, failure } = describeEntry(entry, (iso) => formatTime(iso));
  return h("li", { "data-testid": "timeline-entry", "data-type": entry.type, class: failure ? "failure" : undefined }, time(entry.at), h("span", { class: "registry-tag" }, entry.registryId), h("span", { class: "what" }, text));
}

function render(snapshot: Snapshot, now: Date): void {
  const { registries, consumers, environments, timeline } = snapshot;
  const registryRows = registries.items.map((r) => registryRow(r, now));
  if (registryRows.length === 0) registryRows.push(h("tr", {}, h("td", { colspan: "9", class: "muted" }, "No registries in the config.")));
  byId("registries-body").replaceChildren(...registryRows);

  byId("lines").replaceChildren(
    ...registries.items.map((r, i) => versionLine(r, versionSpans(snapshot.histories[i] ?? [], snapshot.versions[i] ?? null), snapshot.histories[i] ?? [], now, byId("lines").clientWidth || 1000)),
  );

  const currentOf = new Map(registries.items.flatMap((r) => (r.current ? [[r.id, r.current.versionId] as const] : [])));
  const consumerTableRows = consumers.items.map((c) => consumerRow(c, currentOf, now));
  if (consumerTableRows.length === 0) consumerTableRows.push(h("tr", { "data-testid": "deliveries-empty" }, h("td", { colspan: "7", class: "muted" }, "No consumers in the config.")));
  if (consumers.more) consumerTableRows.push(h("tr", {}, h("td", { colspan: "7", class: "muted" }, "More consumers than shown here: GET /v1/consumers pages through all.")));
  byId("deliveries-body").replaceChildren(...consumerTableRows);

  const envRows = environments.items.map(environmentRow);
  // "None" is only true of what was looked at: before the first scan there is nothing to say yet.
  const unscanned = registries.items.filter((r) => r.environments === null).map((r) => r.id);
  const emptyText =
    registries.items.length > 0 && unscanned.length === registries.items.length
      ? "not scanned yet: the audit has not looked at running environments (it runs on its schedule; pullkeeper audit --scan looks now)"
      : `None: every environment the audit saw holds the current credential.${unscanned.length > 0 ? ` Not scanned yet: ${unscanned.join(", ")}.` : ""}`;
  if (envRows.length === 0) envRows.push(h("tr", { "data-testid": "environments-empty" }, h("td", { colspan: "8", class: "muted" }, emptyText)));
  if (environments.more) envRows.push(h("tr", {}, h("td", { colspan: "8", class: "muted" }, "More than shown here: GET /v1/environments?verdict=… pages through all.")));
  byId("environments-body").replaceChildren(...envRows);

  const items = timeline.map(timelineItem);
  byId("timeline").replaceChildren(...(items.length > 0 ? items : [h("li", { class: "muted" }, "Nothing yet.")]));
}

// ---- state ----

let loading = false;
/** The API answered 401 to a request without a token: wait for one before asking again. */
let waitingForToken = false;

function showAuth(message: string): void {
  byId("auth-message").textContent = message;
  byId("auth").hidden = false;
  byId<HTMLInputElement>("token").focus();
}

function showError(message: string | undefined): void {
  const box = byId("error");
  box.textContent = message ?? "";
  box.hidden = message === undefined;
}

async function load(): Promise<void> {
  if (loading || (waitingForToken && token() === undefined)) return;
  loading = true;
  const sent = token();
  byId("status").textContent = "loading…";
  try {
    const snapshot = await fetchSnapshot();
    const now = new Date();
    render(snapshot, now);
    waitingForToken = false;
    byId("auth").hidden = true;
    byId("forget").hidden = token() === undefined;
    showError(undefined);
    byId("status").textContent = `updated ${formatTime(now.toISOString(), { date: false, seconds: true })} · every ${REFRESH_MS / 1000} s`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      waitingForToken = true;
      if (sent !== undefined) setToken(undefined);
      showError(undefined);
      byId("forget").hidden = true;
      showAuth(sent !== undefined ? "token refused: paste the admin token again" : "this API needs the admin token");
      byId("status").textContent = "not signed in";
    } else {
      const message = error instanceof ApiError ? `${error.code}: ${error.message}` : `the API could not be reached: ${(error as Error).message}`;
      showError(message);
      byId("status").textContent = "last update failed";
    }
  } finally {
    loading = false;
  }
}

function start(): void {
  takeTokenFromUrl();
  byId("auth").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>("token");
    const value = input.value.trim();
    input.value = "";
    if (value === "") return;
    setToken(value);
    waitingForToken = false;
    void load();
  });
  byId("refresh").addEventListener("click", () => void load());
  byId("forget").addEventListener("click", () => {
    setToken(undefined);
    location.reload();
  });
  if (token() === undefined) showAuth("paste the admin token, or wait: behind a signing proxy none is needed");
  void load();
  setInterval(() => void load(), REFRESH_MS);
}

start();
