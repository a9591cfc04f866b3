import { ApiError, fetchSnapshot, setToken, type Snapshot, takeTokenFromUrl, token } from "./client.js";
import { byId, h } from "./dom.js";
import { formatTime, versionSpans } from "./format.js";
import { consumerRow, environmentRow, registryRow, timelineItem } from "./rows.js";
import { versionLine } from "./version-line.js";

/**
 * The dashboard's script: reads the audit API (/v1) like any client and draws five things —
 * registries with time to expiry and verdict counts, each registry's versions on a time line (an
 * inline SVG: when each was current, delivered to how many, failures, expiry), every consumer's
 * delivery (failed for good, retrying with their next attempt, under way, done), the environments
 * that hold an old credential, and a list of rotations and failures. Plain DOM; every value goes in
 * as text, never as HTML. This file renders and refreshes; client.ts talks to the API, rows.ts
 * and version-line.ts draw, dom.ts builds elements.
 */

const REFRESH_MS = 30_000;

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
