import {
  allPages,
  type AuditActions,
  type Clock,
  type Consumer,
  type ConsumerDelivery,
  consumerView,
  DELIVERY_STATES,
  type DiscoveryRecord,
  type EnvironmentLedger,
  type EnvironmentQuery,
  type EnvironmentRecord,
  historyView,
  InvalidInputError,
  type Ledger,
  limitOf,
  listEnvironments,
  NotFoundError,
  offsetCursor,
  offsetOf,
  type Page,
  type PageRequest,
  parseDuration,
  PullkeeperError,
  type Query,
  type Registry,
  registryView,
  sourceCapabilities,
  type UndeclaredRecord,
  undeclaredView,
  versionLifecycles,
} from "@pullkeeper/core";
import { PageCache } from "./page-cache.js";

/**
 * The audit API as plain request → response, so API Gateway (functions/api.ts) and the embedded
 * HTTP server run the same code. Errors are `{code, message}` with a status that says who is at
 * fault; lists paginate with an opaque cursor; every read is served by the ledger's keys and indexes.
 */

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Query;
}

export interface ApiResponse {
  readonly status: number;
  /** JSON-able, or the text of a page when `contentType` is set. */
  readonly body: unknown;
  readonly contentType?: string;
}

/** The dashboard: one page and one bundled script, served at / and /dashboard.js. */
export interface DashboardAssets {
  readonly html: string;
  readonly script: string;
}

export interface AuditApiDependencies {
  readonly registries: readonly Registry[];
  readonly ledger: Ledger & EnvironmentLedger;
  readonly consumers?: readonly Consumer[];
  readonly actions?: AuditActions;
  readonly clock?: Clock;
  readonly dashboard?: DashboardAssets;
  /**
   * Environment pages kept between scans (when the ledger has auditGeneration): how long a
   * generation read from the ledger is trusted (default 1 s: a scan elsewhere shows within that;
   * one in this process, at once), and how many environments are kept at most (default 5,000).
   */
  readonly environmentCache?: { readonly generationMaxAgeMs?: number; readonly maxItems?: number };
}

const CONSUMER_STATES = [...DELIVERY_STATES, "never"] as const;

const UPSTREAM_STATUS: Readonly<Record<string, number>> = {
  not_found: 404,
  restart_unsupported: 409,
  invalid_request: 409,
  // The lifecycle's refusals: the registry's state does not allow it now.
  rotation_in_progress: 409,
  previous_in_use: 409,
  previous_revoked: 409,
  previous_expired: 409,
  no_previous_version: 409,
  rollback_unverified: 409,
  rollback_unsupported: 409,
};

const refuse = (status: number, code: string, message: string): ApiResponse => ({ status, body: { code, message } });
const notWired = (what: string) => refuse(501, "not_implemented", `${what} is not wired in this deployment`);

export class AuditApi {
  readonly #deps: AuditApiDependencies;
  readonly #pages: PageCache<Page<EnvironmentRecord>>;

  constructor(deps: AuditApiDependencies) {
    this.#deps = deps;
    this.#pages = new PageCache({ maxItems: deps.environmentCache?.maxItems ?? 5_000 });
  }

  get #consumers(): readonly Consumer[] {
    return this.#deps.consumers ?? [];
  }

  #now(): Date {
    return this.#deps.clock?.now() ?? new Date();
  }

  async handle(request: ApiRequest): Promise<ApiResponse> {
    try {
      return await this.#route(request);
    } catch (error) {
      if (error instanceof InvalidInputError) return refuse(400, error.code, error.message);
      if (error instanceof NotFoundError) return refuse(404, error.code, error.message);
      // A provider's refusal keeps its meaning (gone: 404, not possible: 409); anything else upstream is a 502.
      if (error instanceof PullkeeperError) return refuse(UPSTREAM_STATUS[error.code] ?? 502, error.code, error.message);
      throw error;
    }
  }

  async #route({ method, path, query }: ApiRequest): Promise<ApiResponse> {
    const dashboard = this.#deps.dashboard;
    if (method === "GET" && (path === "/" || path === "/index.html") && dashboard) return { status: 200, body: dashboard.html, contentType: "text/html; charset=utf-8" };
    if (method === "GET" && path === "/dashboard.js" && dashboard) return { status: 200, body: dashboard.script, contentType: "text/javascript; charset=utf-8" };
    const parts = path.replace(/\/+$/, "").split("/").slice(1).map(decodeSegment);
    if (parts[0] !== "v1") throw new NotFoundError(`route ${method} ${path}`);
    const [, collection, id, sub] = parts;
    const leaf = parts.length === 3;
    const action = parts.length === 4;
    if (method === "GET" && collection === "registries" && id === undefined) return this.#listRegistries(query);
    if (method === "GET" && collection === "registries" && leaf) return this.#registry(id as string);
    if (method === "GET" && collection === "registries" && action && sub === "history") return this.#history(id as string, query);
    if (method === "GET" && collection === "registries" && action && sub === "versions") return { status: 200, body: await versionLifecycles(this.#deps.ledger, this.#find(id as string), this.#consumers) };
    if (method === "POST" && collection === "registries" && action && sub === "refresh") return this.#refresh(id as string, query);
    if (method === "POST" && collection === "registries" && action && sub === "propagate") return this.#propagate(id as string, query);
    if (method === "POST" && collection === "registries" && action && sub === "rollback") return this.#rollback(id as string);
    if (method === "GET" && collection === "consumers" && id === undefined) return this.#listConsumers(query);
    if (method === "POST" && collection === "consumers" && action && sub === "redeliver") return this.#redeliver(id as string);
    if (method === "GET" && collection === "environments" && id === undefined) return this.#listEnvironments(query);
    if (method === "POST" && collection === "environments" && leaf && id === "scan") return this.#scan(query);
    if (method === "POST" && collection === "environments" && action && sub === "restart") return this.#restart(id as string);
    if (method === "GET" && collection === "expiring" && id === undefined) return this.#expiring(query);
    throw new NotFoundError(`route ${method} ${path}`);
  }

  /**
   * Environment items change only when the audit writes them, so a page read under the ledger's
   * current audit generation is served again until the generation moves (views are built per
   * request: they say how long ago things were).
   */
  async #listEnvironments(query: Query): Promise<ApiResponse> {
    const { ledger } = this.#deps;
    const generation = await ledger.auditGeneration?.({ maxAgeMs: this.#deps.environmentCache?.generationMaxAgeMs ?? 1_000 });
    const reads =
      generation === undefined
        ? ledger
        : { environments: (where: EnvironmentQuery, page?: PageRequest) => this.#pages.get(generation, JSON.stringify([where, page ?? null]), () => ledger.environments(where, page)) };
    return { status: 200, body: await listEnvironments({ registries: this.#deps.registries, consumers: this.#consumers, ledger: reads }, query, this.#now()) };
  }

  #find(id: string): Registry {
    const registry = this.#deps.registries.find((r) => r.id === id);
    if (!registry) throw new NotFoundError(`registry ${id}`);
    return registry;
  }

  /** The registries' views: batched where the ledger can (registryOverviews), else a few GetItems each. Keys only, never a Scan. */
  async #registryViews(registries: readonly Registry[]) {
    const { ledger } = this.#deps;
    const overviews = await ledger.registryOverviews?.(registries.map((r) => r.id));
    if (overviews) {
      return registries.map((r) => {
        const o = overviews.get(r.id);
        return registryView(r, o?.state, o?.summary, { previous: o?.previous, revocation: o?.revocation });
      });
    }
    return Promise.all(
      registries.map(async (registry) => {
        const [state, summary, revocation] = await Promise.all([ledger.registryState(registry.id), ledger.auditSummary(registry.id), ledger.revocationStatus(registry.id)]);
        const previous = state?.previousVersionId === undefined ? undefined : await ledger.version(registry.id, state.previousVersionId);
        return registryView(registry, state, summary, { previous, revocation });
      }),
    );
  }

  async #listRegistries(query: Query): Promise<ApiResponse> {
    const limit = limitOf(query);
    const offset = offsetOf(query.cursor);
    const items = await this.#registryViews(this.#deps.registries.slice(offset, offset + limit));
    const next = offset + limit < this.#deps.registries.length ? offsetCursor(offset + limit) : null;
    return { status: 200, body: { items, cursor: next } };
  }

  async #registry(id: string): Promise<ApiResponse> {
    return { status: 200, body: (await this.#registryViews([this.#find(id)]))[0] };
  }

  async #refresh(id: string, query: Query): Promise<ApiResponse> {
    const registry = this.#find(id);
    if (sourceCapabilities(registry).managedElsewhere) throw new InvalidInputError(`registry ${id}: its source is ${registry.source.type}; pullkeeper does not mint or rotate it`);
    if (query.force !== undefined && query.force !== "true" && query.force !== "false") throw new InvalidInputError("force: expected true or false");
    if (!this.#deps.actions) return notWired("refresh on demand");
    return { status: 200, body: await this.#deps.actions.refresh(registry, { force: query.force === "true" }) };
  }

  async #rollback(id: string): Promise<ApiResponse> {
    const registry = this.#find(id);
    if (!this.#deps.actions?.rollback) return notWired("rollback");
    return { status: 200, body: await this.#deps.actions.rollback(registry) };
  }

  async #propagate(id: string, query: Query): Promise<ApiResponse> {
    const registry = this.#find(id);
    if (query.force !== undefined && query.force !== "true" && query.force !== "false") throw new InvalidInputError("force: expected true or false");
    if (!this.#deps.actions?.propagate) return notWired("propagation on demand");
    return { status: 202, body: await this.#deps.actions.propagate(registry, { force: query.force === "true" }) };
  }

  /** What breaks in the next N hours if nothing is done: current tokens that expire within `within`. */
  async #expiring(query: Query): Promise<ApiResponse> {
    const within = parseDuration(query.within ?? "6h");
    if (within === undefined || within <= 0) throw new InvalidInputError('within: expected a duration such as "30m", "6h" or "1d"');
    const now = this.#now();
    const horizon = now.getTime() + within * 1000;
    const states = await Promise.all(this.#deps.registries.map((r) => this.#deps.ledger.registryState(r.id)));
    const items = this.#deps.registries
      .map((registry, i) => ({ registry, state: states[i] }))
      .filter(({ state }) => state?.current?.expiresAt !== undefined && state.current.expiresAt.getTime() <= horizon)
      .map(({ registry, state }) => ({
        ...registryView(registry, state),
        expiresInSeconds: Math.round(((state?.current?.expiresAt?.getTime() ?? 0) - now.getTime()) / 1000),
      }))
      .sort((a, b) => a.expiresInSeconds - b.expiresInSeconds);
    return { status: 200, body: { within: `${within}s`, items } };
  }

  /**
   * Declared consumers with their delivery and discovery state, then the undeclared ones the audit
   * found (declared: false, never delivered). One Query per registry partition and item family.
   */
  async #listConsumers(query: Query): Promise<ApiResponse> {
    const limit = limitOf(query);
    const offset = offsetOf(query.cursor);
    if (query.registry !== undefined) this.#find(query.registry);
    const state = query.state;
    if (state !== undefined && !(CONSUMER_STATES as readonly string[]).includes(state)) throw new InvalidInputError(`state: expected one of ${CONSUMER_STATES.join(", ")}`);
    const registryIds = query.registry !== undefined ? [query.registry] : this.#deps.registries.map((r) => r.id);
    const consumers = this.#consumers.filter((c) => registryIds.includes(c.registryId));
    const { ledger } = this.#deps;
    const deliveries = new Map<string, ConsumerDelivery>();
    const discoveries = new Map<string, DiscoveryRecord>();
    const undeclared: UndeclaredRecord[] = [];
    for (const registryId of registryIds) {
      const [d, s, u] = await Promise.all([
        allPages((p) => ledger.consumerDeliveries(registryId, p)),
        allPages((p) => ledger.discoveries(registryId, p)),
        allPages((p) => ledger.undeclaredConsumers(registryId, p)),
      ]);
      for (const x of d) deliveries.set(`${registryId}/${x.consumerId}`, x);
      for (const x of s) discoveries.set(`${registryId}/${x.consumerId}`, x);
      undeclared.push(...u);
    }
    const rows = [
      ...consumers
        .map((c) => ({ c, delivery: deliveries.get(`${c.registryId}/${c.id}`) }))
        .filter((row) => state === undefined || (row.delivery?.state ?? "never") === state)
        .map((row) => consumerView(row.c, row.delivery, discoveries.get(`${row.c.registryId}/${row.c.id}`))),
      ...(state === undefined || state === "never" ? undeclared.map(undeclaredView) : []),
    ];
    const next = offset + limit < rows.length ? offsetCursor(offset + limit) : null;
    return { status: 200, body: { items: rows.slice(offset, offset + limit), cursor: next } };
  }

  async #redeliver(id: string): Promise<ApiResponse> {
    const consumer = this.#consumers.find((c) => c.id === id);
    if (!consumer) throw new NotFoundError(`consumer ${id}`);
    if (!this.#deps.actions?.redeliver) return notWired("redelivery");
    return { status: 202, body: await this.#deps.actions.redeliver(consumer) };
  }

  async #scan(query: Query): Promise<ApiResponse> {
    if (query.registry !== undefined) this.#find(query.registry);
    if (!this.#deps.actions?.scan) return notWired("an audit scan on demand");
    return { status: 202, body: await this.#deps.actions.scan(query.registry !== undefined ? [query.registry] : undefined) };
  }

  /** Opt-in per consumer, and only where it helps: a current one needs nothing, a doomed one would load the old credential again. */
  async #restart(id: string): Promise<ApiResponse> {
    const consumer = this.#consumers.find((c) => c.id === id.split(".")[0]);
    const environment = consumer && (await this.#deps.ledger.environment(consumer.registryId, id));
    if (!consumer || !environment) throw new NotFoundError(`environment ${id}`);
    if (consumer.restart !== true) return refuse(403, "restart_not_enabled", `consumer ${consumer.id} has not opted in to restarts (set restart: true on it in the config)`);
    if (environment.verdict === "current") return refuse(409, "not_stale", `environment ${id} already holds the current credential`);
    if (environment.verdict === "doomed") return refuse(409, "doomed", `consumer ${consumer.id}'s last delivery failed, so a restart would load the old credential again: fix and redeliver first`);
    if (!this.#deps.actions?.restart) return notWired("restarting environments");
    const outcome = await this.#deps.actions.restart(consumer, environment);
    // A destructive action on someone's running environment: on the record, with what was done.
    await this.#deps.ledger.appendHistory({ type: "environment-restarted", registryId: consumer.registryId, at: this.#now(), consumerId: consumer.id, environmentId: id, name: environment.name, detail: outcome.detail });
    return { status: 202, body: { environment: id, detail: outcome.detail } };
  }

  async #history(id: string, query: Query): Promise<ApiResponse> {
    this.#find(id);
    const page = await this.#deps.ledger.history(id, { limit: limitOf(query), ...(query.cursor !== undefined && { cursor: query.cursor }) });
    return { status: 200, body: { items: page.items.map(historyView), cursor: page.cursor ?? null } };
  }
}

/** A path segment, percent-decoded; a malformed escape is the caller's mistake (400), not a crash. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidInputError(`path: bad percent-encoding in ${JSON.stringify(segment.slice(0, 100))}`);
  }
}
