import { InvalidInputError, NotFoundError, PullkeeperError } from "./errors.js";
import type { CredentialVersion, Registry } from "./model.js";
import type { Consumer, ConsumerDelivery } from "./delivery.js";
import { parseDuration } from "./duration.js";
import type { Clock, HistoryEntry, Ledger, RegistryState } from "./ports.js";

/**
 * The audit API as plain request → response, so API Gateway (functions/api.ts) and the embedded
 * HTTP server run the same code. Errors are `{code, message}` with a status that says who is at
 * fault; lists paginate with an opaque cursor.
 */

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** What the API can set in motion; where it is absent the route answers 501. */
export interface AuditActions {
  /** Refresh (minted tokens) or rotate (htpasswd) one registry now; resolves with a JSON-able result. */
  refresh(registry: Registry, options: { readonly force: boolean }): Promise<unknown>;
  /** Queue a delivery of the registry's current version to one consumer, whatever its state. */
  redeliver?(consumer: Consumer): Promise<unknown>;
}

export interface AuditApiDependencies {
  readonly registries: readonly Registry[];
  readonly ledger: Ledger;
  readonly consumers?: readonly Consumer[];
  readonly actions?: AuditActions;
  readonly clock?: Clock;
}

const DELIVERY_STATES = ["pending", "delivered", "verified", "failed", "never"] as const;

const MAX_LIMIT = 100;

function limitOf(query: ApiRequest["query"]): number {
  const raw = query.limit;
  if (raw === undefined) return 25;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new InvalidInputError(`limit: expected an integer from 1 to ${MAX_LIMIT}`);
  return limit;
}

function offsetOf(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const offset = Number(Buffer.from(cursor, "base64url").toString("utf8").replace(/^o:/, ""));
  if (!/^[A-Za-z0-9_-]+$/.test(cursor) || !Number.isInteger(offset) || offset < 0) throw new InvalidInputError("cursor: not one this API returned");
  return offset;
}

const offsetCursor = (offset: number) => Buffer.from(`o:${offset}`, "utf8").toString("base64url");

function versionView(v: CredentialVersion | undefined) {
  if (!v) return null;
  return {
    versionId: v.versionId,
    secretArn: v.secretArn,
    fingerprint: v.fingerprint,
    createdAt: v.createdAt.toISOString(),
    expiresAt: v.expiresAt?.toISOString() ?? null,
    verification: { status: v.verification.status, detail: v.verification.detail, checkedAt: v.verification.checkedAt.toISOString() },
  };
}

function registryView(registry: Registry, state: RegistryState | undefined) {
  return {
    id: registry.id,
    host: registry.host,
    kind: registry.kind,
    source: registry.source.type,
    secret: state?.secretArn ?? registry.secret,
    current: versionView(state?.current),
    updatedAt: state?.updatedAt.toISOString() ?? null,
  };
}

function consumerView(consumer: Consumer, delivery: ConsumerDelivery | undefined) {
  return {
    id: consumer.id,
    registry: consumer.registryId,
    kind: consumer.target.kind,
    declared: true,
    delivery: delivery
      ? {
          state: delivery.state,
          versionId: delivery.versionId,
          deliveredVersionId: delivery.deliveredVersionId ?? null,
          deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
          attempts: delivery.attempts,
          lastError: delivery.lastError ? { ...delivery.lastError, at: delivery.lastError.at.toISOString() } : null,
          updatedAt: delivery.updatedAt.toISOString(),
        }
      : null,
  };
}

function historyView(entry: HistoryEntry) {
  return { ...entry, at: entry.at.toISOString(), ...("expiresAt" in entry && entry.expiresAt && { expiresAt: entry.expiresAt.toISOString() }) };
}

export class AuditApi {
  readonly #deps: AuditApiDependencies;

  constructor(deps: AuditApiDependencies) {
    this.#deps = deps;
  }

  async handle(request: ApiRequest): Promise<ApiResponse> {
    try {
      return await this.#route(request);
    } catch (error) {
      if (error instanceof InvalidInputError) return { status: 400, body: { code: error.code, message: error.message } };
      if (error instanceof NotFoundError) return { status: 404, body: { code: error.code, message: error.message } };
      if (error instanceof PullkeeperError) return { status: 502, body: { code: error.code, message: error.message } };
      throw error;
    }
  }

  async #route({ method, path, query }: ApiRequest): Promise<ApiResponse> {
    const parts = path.replace(/\/+$/, "").split("/").slice(1).map(decodeURIComponent);
    if (parts[0] !== "v1") throw new NotFoundError(`route ${method} ${path}`);
    const [, collection, id, sub] = parts;
    if (method === "GET" && collection === "registries" && id === undefined) return this.#listRegistries(query);
    if (method === "GET" && collection === "registries" && id !== undefined && sub === undefined) return this.#registry(id);
    if (method === "GET" && collection === "registries" && id !== undefined && sub === "history" && parts.length === 4) return this.#history(id, query);
    if (method === "POST" && collection === "registries" && id !== undefined && sub === "refresh" && parts.length === 4) return this.#refresh(id, query);
    if (method === "GET" && collection === "consumers" && id === undefined) return this.#listConsumers(query);
    if (method === "GET" && collection === "expiring" && id === undefined) return this.#expiring(query);
    if (method === "POST" && collection === "consumers" && id !== undefined && sub === "redeliver" && parts.length === 4) return this.#redeliver(id);
    throw new NotFoundError(`route ${method} ${path}`);
  }

  async #listRegistries(query: ApiRequest["query"]): Promise<ApiResponse> {
    const limit = limitOf(query);
    const offset = offsetOf(query.cursor);
    const page = this.#deps.registries.slice(offset, offset + limit);
    // One GetItem per registry on the page: served by keys, never a Scan.
    const states = await Promise.all(page.map((r) => this.#deps.ledger.registryState(r.id)));
    const next = offset + limit < this.#deps.registries.length ? offsetCursor(offset + limit) : undefined;
    return { status: 200, body: { items: page.map((r, i) => registryView(r, states[i])), cursor: next ?? null } };
  }

  #find(id: string): Registry {
    const registry = this.#deps.registries.find((r) => r.id === id);
    if (!registry) throw new NotFoundError(`registry ${id}`);
    return registry;
  }

  async #registry(id: string): Promise<ApiResponse> {
    const registry = this.#find(id);
    return { status: 200, body: registryView(registry, await this.#deps.ledger.registryState(id)) };
  }

  async #refresh(id: string, query: ApiRequest["query"]): Promise<ApiResponse> {
    const registry = this.#find(id);
    if (registry.source.type === "managed-secret") throw new InvalidInputError(`registry ${id}: its source is managed-secret; pullkeeper does not mint or rotate it`);
    if (query.force !== undefined && query.force !== "true" && query.force !== "false") throw new InvalidInputError("force: expected true or false");
    if (!this.#deps.actions) return { status: 501, body: { code: "not_implemented", message: "refresh on demand is not wired in this deployment" } };
    return { status: 200, body: await this.#deps.actions.refresh(registry, { force: query.force === "true" }) };
  }

  /** What breaks in the next N hours if nothing is done: current tokens that expire within `within`. */
  async #expiring(query: ApiRequest["query"]): Promise<ApiResponse> {
    const within = parseDuration(query.within ?? "6h");
    if (within === undefined || within <= 0) throw new InvalidInputError('within: expected a duration such as "30m", "6h" or "1d"');
    const now = this.#deps.clock?.now() ?? new Date();
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

  async #listConsumers(query: ApiRequest["query"]): Promise<ApiResponse> {
    const limit = limitOf(query);
    const offset = offsetOf(query.cursor);
    if (query.registry !== undefined) this.#find(query.registry);
    const state = query.state;
    if (state !== undefined && !(DELIVERY_STATES as readonly string[]).includes(state)) throw new InvalidInputError(`state: expected one of ${DELIVERY_STATES.join(", ")}`);
    const consumers = (this.#deps.consumers ?? []).filter((c) => query.registry === undefined || c.registryId === query.registry);
    // One Query per registry partition (its CONS# items), never a Scan.
    const deliveries = new Map<string, ConsumerDelivery>();
    for (const registryId of new Set(consumers.map((c) => c.registryId))) {
      let cursor: string | undefined;
      do {
        const page = await this.#deps.ledger.consumerDeliveries(registryId, { limit: 100, ...(cursor !== undefined && { cursor }) });
        for (const d of page.items) deliveries.set(`${registryId}/${d.consumerId}`, d);
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
    const rows = consumers
      .map((c) => ({ consumer: c, delivery: deliveries.get(`${c.registryId}/${c.id}`) }))
      .filter((row) => state === undefined || (row.delivery?.state ?? "never") === state);
    const page = rows.slice(offset, offset + limit);
    const next = offset + limit < rows.length ? offsetCursor(offset + limit) : undefined;
    return { status: 200, body: { items: page.map((r) => consumerView(r.consumer, r.delivery)), cursor: next ?? null } };
  }

  async #redeliver(id: string): Promise<ApiResponse> {
    const consumer = (this.#deps.consumers ?? []).find((c) => c.id === id);
    if (!consumer) throw new NotFoundError(`consumer ${id}`);
    if (!this.#deps.actions?.redeliver) return { status: 501, body: { code: "not_implemented", message: "redelivery is not wired in this deployment" } };
    return { status: 202, body: await this.#deps.actions.redeliver(consumer) };
  }

  async #history(id: string, query: ApiRequest["query"]): Promise<ApiResponse> {
    this.#find(id);
    const page = await this.#deps.ledger.history(id, { limit: limitOf(query), ...(query.cursor !== undefined && { cursor: query.cursor }) });
    return { status: 200, body: { items: page.items.map(historyView), cursor: page.cursor ?? null } };
  }
}
