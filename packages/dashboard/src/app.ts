import { describeEntry, expiryOf, formatDuration, mergeTimeline, nextStep, openDeliveries, safeUrl, tokenFromHash } from "./format.js";
import type { ApiErrorBody, ConsumerView, DeliveryView, EnvironmentView, HistoryView, ListBody, RegistryView } from "./views.js";

/**
 * The dashboard's script: reads the audit API (/v1) like any client and draws four things —
 * registries with time to expiry and verdict counts, the deliveries not done yet (failed for good,
 * retrying with their next attempt, under way), the environments that hold an old credential,
 * and a timeline of rotations and failures. Plain DOM; every value goes in as text, never as HTML.
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
  readonly deliveries: { items: (ConsumerView & { delivery: DeliveryView })[]; more: boolean };
  readonly environments: { items: EnvironmentView[]; more: boolean };
  readonly timeline: HistoryView[];
}

async function fetchSnapshot(): Promise<Snapshot> {
  const registries = await pages<RegistryView>("v1/registries?limit=100");
  const [byVerdict, histories, consumers] = await Promise.all([
    Promise.all(VERDICTS.map((v) => pages<EnvironmentView>(`v1/environments?verdict=${v}&limit=100`))),
    Promise.all(registries.items.map((r) => getJson<ListBody<HistoryView>>(`v1/registries/${encodeURIComponent(r.id)}/history?limit=25`).then((b) => b.items))),
    pages<ConsumerView>("v1/consumers?limit=100"),
  ]);
  const environments = byVerdict.flatMap((p) => p.items).sort((a, b) => (RANK[a.verdict] ?? 3) - (RANK[b.verdict] ?? 3) || b.forSeconds - a.forSeconds);
  return {
    registries,
    deliveries: { items: openDeliveries(consumers.items), more: consumers.more },
    environments: { items: environments, more: byVerdict.some((p) => p.more) },
    timeline: mergeTimeline(histories),
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
  return h("time", { datetime: iso, title: iso }, new Date(iso).toLocaleString());
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
    ? h("td", {}, time(r.environments.scannedAt), r.environments.discoveryFailures > 0 && h("div", { class: "muted" }, `${r.environments.discoveryFailures} discovery failure(s)`))
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

function deliveryRow(c: ConsumerView & { delivery: DeliveryView }, now: Date): HTMLTableRowElement {
  const d = c.delivery;
  const when = d.state === "retrying" ? d.nextAttemptAt : d.state === "failed" ? d.redriveAt : null;
  return h(
    "tr",
    { "data-testid": "delivery", "data-state": d.state, "data-consumer-id": c.id },
    h("th", { scope: "row" }, c.id),
    h("td", {}, c.registry),
    h("td", {}, c.kind),
    h("td", {}, h("span", { class: `state ${d.state}` }, d.state === "failed" ? "failed for good" : d.state), h("div", { class: "muted" }, `${d.attempts} attempt(s)`)),
    h("td", {}, h("code", { title: d.versionId }, d.versionId)),
    h("td", { "data-testid": "next" }, nextStep(d, now), when !== null && h("div", {}, time(when))),
    h("td", { "data-testid": "cause" }, d.lastError ? `${d.lastError.code}: ${d.lastError.message}` : h("span", { class: "muted" }, "—")),
  );
}

function timelineItem(entry: HistoryView): HTMLLIElement {
  const { text, failure } = describeEntry(entry, (iso) => new Date(iso).toLocaleString());
  return h("li", { "data-testid": "timeline-entry", "data-type": entry.type, class: failure ? "failure" : undefined }, time(entry.at), h("span", { class: "registry-tag" }, entry.registryId), h("span", { class: "what" }, text));
}

function render(snapshot: Snapshot, now: Date): void {
  const { registries, deliveries, environments, timeline } = snapshot;
  const registryRows = registries.items.map((r) => registryRow(r, now));
  if (registryRows.length === 0) registryRows.push(h("tr", {}, h("td", { colspan: "9", class: "muted" }, "No registries in the config.")));
  byId("registries-body").replaceChildren(...registryRows);

  const deliveryRows = deliveries.items.map((c) => deliveryRow(c, now));
  if (deliveryRows.length === 0) deliveryRows.push(h("tr", { "data-testid": "deliveries-empty" }, h("td", { colspan: "7", class: "muted" }, "None: every consumer holds what it was last asked to.")));
  if (deliveries.more) deliveryRows.push(h("tr", {}, h("td", { colspan: "7", class: "muted" }, "More consumers than shown here: GET /v1/consumers pages through all.")));
  byId("deliveries-body").replaceChildren(...deliveryRows);

  const envRows = environments.items.map(environmentRow);
  if (envRows.length === 0) envRows.push(h("tr", { "data-testid": "environments-empty" }, h("td", { colspan: "8", class: "muted" }, "None: every environment the audit saw holds the current credential.")));
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
    byId("status").textContent = `updated ${now.toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`;
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
