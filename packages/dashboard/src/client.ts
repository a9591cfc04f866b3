import { consumerRows, mergeTimeline, tokenFromHash } from "./format.js";
import type { ApiErrorBody, ConsumerView, EnvironmentView, HistoryView, ListBody, RegistryView, VersionsBody } from "./views.js";

/** The dashboard's API client: the admin token (from #token=, kept per tab), GETs that follow cursors, and the snapshot one refresh draws. */

const TOKEN_KEY = "pullkeeper.token";
const MAX_PAGES = 5;
/** Fetched and listed in this order: expired first (broken now), doomed (a restart will not help), stale. */
const VERDICTS = ["expired", "doomed", "stale"] as const;
const RANK: Readonly<Record<string, number>> = { expired: 0, doomed: 1, stale: 2 };

export class ApiError extends Error {
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

export function token(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return memoryToken;
  }
}

export function setToken(value: string | undefined): void {
  memoryToken = value;
  try {
    if (value === undefined) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    // Storage blocked: the token lives in memory for this page.
  }
}

export function takeTokenFromUrl(): void {
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

export interface Snapshot {
  readonly registries: { items: RegistryView[]; more: boolean };
  readonly consumers: { items: ConsumerView[]; more: boolean };
  readonly environments: { items: EnvironmentView[]; more: boolean };
  readonly timeline: HistoryView[];
  /** Per registry (same order): its history and versions, for its time line. */
  readonly histories: HistoryView[][];
  readonly versions: (VersionsBody | null)[];
}

export async function fetchSnapshot(): Promise<Snapshot> {
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
