import { randomBytes, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { FailureScript, jsonSender, parseBody, redactAuthorization, redactFields, useProviderFake } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";

/**
 * A local stand-in for the part of Docker Hub's API that docker-hub.json describes (extracted from
 * docker/docs `content/reference/api/hub/latest.yaml`, see test/fixtures/provider-specs/SOURCES.md):
 *
 * - `POST /v2/auth/token` {identifier, secret} → {access_token} for the admin login the test sets;
 *   anything else 401 in Docker Hub's `error` shape {errinfo, detail, message}.
 * - Personal access tokens: `POST /v2/access-tokens` (201, `token` shown this once),
 *   `GET /v2/access-tokens?page&page_size` (the admin's own tokens, `{count, next, previous,
 *   active_count, results}`, each `token` blank; `next`/`previous` are "" when there is no such
 *   page, as the description types them string, not nullable),
 *   `GET`/`PATCH {is_active, token_label}`/`DELETE /v2/access-tokens/{uuid}` (token blank).
 * - Organization access tokens: `POST`/`GET /v2/orgs/{name}/access-tokens`,
 *   `GET`/`PATCH`/`DELETE /v2/orgs/{org_name}/access-tokens/{access_token_id}`.
 *
 * Every request is checked against docker-hub.json with provider-spec.ts; one that departs from it
 * is answered 400 and its violations recorded in `violations` (tests assert none); the fake's own
 * success answers are checked with `checkResponse()` into the same list. Every token operation
 * needs `Authorization: Bearer <access_token>` from /v2/auth/token (401 otherwise).
 *
 * Each minted token is an htpasswd user of the CredentialRegistry passed in — username
 * `<Docker Hub user or org>.<first 8 of its id>` (htpasswd holds one password per user), see
 * `registryLoginFor(token)` — installed before the create answer goes out, removed before the
 * answer to a delete or a deactivation, restored on reactivation; one past `expires_at` on the
 * fake's clock is removed at the next request or `tick()`.
 *
 * Scripted failures (`failNext`): any status/headers/body (429 with or without Retry-After, 500,
 * 503…), a connection reset, or a hang (no answer until the client gives up or the fake stops).
 * `maxTokens` caps live tokens per account and per organization (Docker Hub limits them by plan).
 *
 * Token values never leave the fake except in the one create answer: `requests` holds no
 * Authorization header and no `secret`, violations name properties, never values, and nothing is
 * logged.
 */

export interface DockerHubFailure {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** "reset" destroys the socket without an answer; "hang" never answers (until stop). Default "answer". */
  readonly kind?: "answer" | "reset" | "hang";
  /** Only requests this matches consume the failure; default every request. */
  readonly match?: (request: { method: string; path: string; operation: string | undefined }) => boolean;
}

export interface DockerHubRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Request headers without Authorization (`authorization` says only which scheme was used). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as parsed, with /v2/auth/token's `secret` replaced by "[redacted]". */
  readonly body: unknown;
  /** e.g. "POST /v2/access-tokens"; undefined when the description has no such operation. */
  readonly operation: string | undefined;
  readonly violations: readonly string[];
  readonly at: number;
  /** 0 until answered; -1 for a reset or a hang. */
  status: number;
}

export interface DockerHubOptions {
  readonly registry: CredentialRegistry;
  /** The admin login /v2/auth/token accepts: a Docker Hub username… */
  readonly username?: string;
  /** …and its password or PAT. */
  readonly secret?: string;
  /** Organizations the admin owns (OAT routes answer 403 for others). Default ["acme"]. */
  readonly orgs?: readonly string[];
  /** Live tokens allowed per account and per organization; undefined: no limit. */
  readonly maxTokens?: number;
  /** The fake's clock at the start (ms since the epoch); default Date.now(). */
  readonly now?: number;
}

interface Token {
  readonly kind: "pat" | "oat";
  readonly id: string;
  readonly owner: string;
  readonly value: string;
  readonly registryUser: string;
  label: string;
  description: string;
  readonly scopes: string[];
  resources: { type: string; path: string; scopes: string[] }[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  isActive: boolean;
  /** Installed in the registry right now. */
  installed: boolean;
}

/** What a token looks like from outside: never its value. */
export interface DockerHubTokenView {
  readonly kind: "pat" | "oat";
  readonly id: string;
  readonly owner: string;
  readonly label: string;
  readonly registryUser: string;
  readonly isActive: boolean;
  readonly expiresAt: string | null;
  readonly installed: boolean;
  readonly scopes: readonly string[];
  readonly resources: readonly { type: string; path: string; scopes: string[] }[];
}

/** The quota answer: Docker Hub limits live access tokens by plan. */
export const TOKEN_LIMIT_STATUS = 403;
/** Admin sessions from /v2/auth/token: Docker Hub says they expire in 10 minutes. */
export const ACCESS_TOKEN_TTL_MS = 10 * 60_000;

const spec = loadProviderSpec("docker-hub");

export class FakeDockerHub {
  /** Every request in order, with no token value in it. */
  readonly requests: DockerHubRequest[] = [];
  /** Departures from docker-hub.json, one line each (the client's requests, and the fake's own success answers prefixed "the fake's answer:"); empty when both are right. */
  readonly violations: string[] = [];
  username: string;
  maxTokens: number | undefined;
  readonly orgs: Set<string>;
  readonly registry: CredentialRegistry;
  #secret: string;
  #now: number;
  readonly #sessions = new Map<string, number>();
  readonly #tokens = new Map<string, Token>();
  /** Every token ever minted (deleted ones too) → its registry user, so a test can check a revoked token is refused. */
  readonly #logins = new Map<string, string>();
  readonly #script = new FailureScript<DockerHubFailure, { method: string; path: string; operation: string | undefined }>();
  #server: LocalServer | undefined;

  private constructor(options: DockerHubOptions) {
    this.registry = options.registry;
    this.username = options.username ?? "pullkeeper-admin";
    this.#secret = options.secret ?? `admin-${randomBytes(12).toString("hex")}`;
    this.orgs = new Set(options.orgs ?? ["acme"]);
    this.maxTokens = options.maxTokens;
    this.#now = options.now ?? Date.now();
  }

  static async start(options: DockerHubOptions): Promise<FakeDockerHub> {
    const fake = new FakeDockerHub(options);
    fake.#server = await startServer((req, res) => fake.#handle(req, res));
    return fake;
  }

  /** The API root (Docker Hub's is https://hub.docker.com). */
  get url(): string {
    if (this.#server === undefined) throw new Error("not started");
    return this.#server.url;
  }

  /** The admin login /v2/auth/token accepts (the test's own secret, handed back to it). */
  get adminLogin(): { identifier: string; secret: string } {
    return { identifier: this.username, secret: this.#secret };
  }

  /** Changes the admin secret: sessions already opened stay valid until they expire, like a password change would not. */
  setAdminSecret(secret: string): void {
    this.#secret = secret;
  }

  /** The fake's clock (ms since the epoch). */
  get now(): number {
    return this.#now;
  }

  /** Sets the clock (default: forward to Date.now()) and removes from the registry every token now past `expires_at`. */
  async tick(now: number = Date.now()): Promise<void> {
    this.#now = now;
    await this.#expire();
  }

  /** Answers the next matching request with `failure` instead of handling it (queued in order). */
  failNext(...failures: DockerHubFailure[]): void {
    this.#script.push(...failures);
  }

  /** The registry login a minted token opens, or opened before it was deleted (undefined for a token the fake never minted). */
  registryLoginFor(token: string): { username: string; password: string } | undefined {
    const username = this.#logins.get(token);
    return username === undefined ? undefined : { username, password: token };
  }

  /** The tokens Docker Hub holds, without their values. */
  tokens(): DockerHubTokenView[] {
    return [...this.#tokens.values()].map((t) => ({
      kind: t.kind,
      id: t.id,
      owner: t.owner,
      label: t.label,
      registryUser: t.registryUser,
      isActive: t.isActive,
      expiresAt: t.expiresAt,
      installed: t.installed,
      scopes: [...t.scopes],
      resources: t.resources.map((r) => ({ ...r, scopes: [...r.scopes] })),
    }));
  }

  async stop(): Promise<void> {
    this.#script.cutHung();
    await this.#server?.close();
  }

  // ---- the server -------------------------------------------------------------------------

  async #handle(req: Received, res: ServerResponse): Promise<void> {
    const url = new URL(req.url, "http://fake.dockerhub");
    const path = url.pathname;
    const body = parseBody(req);
    const checked = spec.check(req.method, path, url.searchParams, body, req.headers);
    const record: DockerHubRequest = {
      method: req.method,
      path,
      query: url.searchParams,
      headers: redactAuthorization(req.headers, "[redacted]"),
      body: redactFields(body, ["secret", "token"], "[redacted]"),
      operation: checked.operation,
      violations: checked.violations,
      at: Date.now(),
      status: 0,
    };
    this.requests.push(record);
    this.violations.push(...checked.violations);
    // http.ts keeps what it received (with the Authorization header and the body): keep none of it here.
    const received = this.#server?.received;
    if (received !== undefined) received.length = 0;

    const send = jsonSender(res, record);
    if (this.#script.play({ method: req.method, path, operation: checked.operation }, res, record, send, { hangStatus: -1, defaultBody })) return;

    if (checked.violations.length > 0) {
      send(400, { fields: {}, text: checked.violations.join("; "), errinfo: {}, detail: checked.violations.join("; "), message: "bad_request" });
      return;
    }
    await this.#expire();

    if (checked.operation === "POST /v2/auth/token") {
      const b = body as { identifier: string; secret: string };
      if (b.identifier !== this.username || b.secret !== this.#secret) {
        send(401, { errinfo: {}, detail: "Incorrect authentication credentials", message: "Incorrect authentication credentials" });
        return;
      }
      const session = jwtLike(this.username, this.#now);
      this.#sessions.set(session, this.#now + ACCESS_TOKEN_TTL_MS);
      const answer = { access_token: session };
      this.violations.push(...spec.checkResponse("POST /v2/auth/token", 200, answer).map((v) => `the fake's answer: ${v}`));
      send(200, answer);
      return;
    }

    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const until = bearer === undefined ? undefined : this.#sessions.get(bearer);
    if (until === undefined || until <= this.#now) {
      send(401, { detail: "Authentication credentials were not provided or are invalid.", message: "unauthorized" });
      return;
    }

    const answer = await this.#tokenOperation(checked.operation ?? "", path, url.searchParams, body);
    // The fake's own success answers are held to the description too (a wrong fake fails the tests).
    if (checked.operation !== undefined && answer.status < 300) this.violations.push(...spec.checkResponse(checked.operation, answer.status, answer.body).map((v) => `the fake's answer: ${v}`));
    send(answer.status, answer.body);
  }

  async #tokenOperation(operation: string, path: string, query: URLSearchParams, body: unknown): Promise<{ status: number; body?: unknown }> {
    const seg = path.split("/").map((s) => decodeURIComponent(s));
    const notFound = { status: 404, body: { errinfo: {}, detail: "Not Found", message: "not_found" } };
    const forbidden = { status: 403, body: { errinfo: {}, detail: "You do not have permission to manage this organization's access tokens.", message: "forbidden" } };
    const pat = (id: string | undefined): Token | undefined => {
      const t = id === undefined ? undefined : this.#tokens.get(id);
      return t?.kind === "pat" && t.owner === this.username ? t : undefined;
    };
    const oat = (org: string | undefined, id: string | undefined): Token | undefined => {
      const t = id === undefined ? undefined : this.#tokens.get(id);
      return t?.kind === "oat" && t.owner === org ? t : undefined;
    };
    switch (operation) {
      case "POST /v2/access-tokens": {
        const b = body as { token_label: string; scopes: string[]; expires_at?: string };
        if (this.#atLimit(this.username)) return this.#limitReached("personal");
        const t = await this.#mint("pat", this.username, { label: b.token_label, description: "", scopes: b.scopes, resources: [], expiresAt: b.expires_at ?? null });
        return { status: 201, body: { ...patView(t), token: t.value } };
      }
      case "GET /v2/access-tokens": {
        const all = [...this.#tokens.values()].filter((t) => t.kind === "pat" && t.owner === this.username);
        const { page, size } = paging(query);
        const link = (p: number): string => `${this.url}/v2/access-tokens?page=${p}&page_size=${size}`;
        return {
          status: 200,
          body: {
            count: all.length,
            next: page * size < all.length ? link(page + 1) : "",
            previous: page > 1 ? link(page - 1) : "",
            active_count: all.filter((t) => t.isActive).length,
            results: all.slice((page - 1) * size, page * size).map(patView),
          },
        };
      }
      case "GET /v2/access-tokens/{uuid}": {
        const t = pat(seg[3]);
        return t === undefined ? notFound : { status: 200, body: patView(t) };
      }
      case "PATCH /v2/access-tokens/{uuid}": {
        const t = pat(seg[3]);
        if (t === undefined) return notFound;
        const b = body as { is_active?: boolean; token_label?: string };
        if (b.token_label !== undefined) t.label = b.token_label;
        if (b.is_active !== undefined) await this.#setActive(t, b.is_active);
        return { status: 200, body: patView(t) };
      }
      case "DELETE /v2/access-tokens/{uuid}": {
        const t = pat(seg[3]);
        if (t === undefined) return notFound;
        await this.#delete(t);
        return { status: 204 };
      }
      case "POST /v2/orgs/{name}/access-tokens": {
        const org = seg[3] ?? "";
        if (!this.orgs.has(org)) return forbidden;
        const b = body as { label: string; description?: string; resources?: { type: string; path: string; scopes: string[] }[]; expires_at?: string | null };
        if (this.#atLimit(org)) return this.#limitReached("organization");
        const t = await this.#mint("oat", org, { label: b.label, description: b.description ?? "", scopes: [], resources: b.resources ?? [], expiresAt: b.expires_at ?? null });
        return { status: 201, body: { ...oatView(t), resources: t.resources, token: t.value } };
      }
      case "GET /v2/orgs/{name}/access-tokens": {
        const org = seg[3] ?? "";
        if (!this.orgs.has(org)) return forbidden;
        const all = [...this.#tokens.values()].filter((t) => t.kind === "oat" && t.owner === org);
        const { page, size } = paging(query);
        const link = (p: number): string => `${this.url}/v2/orgs/${encodeURIComponent(org)}/access-tokens?page=${p}&page_size=${size}`;
        return {
          status: 200,
          body: {
            total: all.length,
            next: page * size < all.length ? link(page + 1) : "",
            previous: page > 1 ? link(page - 1) : "",
            results: all.slice((page - 1) * size, page * size).map(oatView),
          },
        };
      }
      case "GET /v2/orgs/{org_name}/access-tokens/{access_token_id}": {
        if (!this.orgs.has(seg[3] ?? "")) return forbidden;
        const t = oat(seg[3], seg[5]);
        return t === undefined ? notFound : { status: 200, body: { ...oatView(t), resources: t.resources } };
      }
      case "PATCH /v2/orgs/{org_name}/access-tokens/{access_token_id}": {
        if (!this.orgs.has(seg[3] ?? "")) return forbidden;
        const t = oat(seg[3], seg[5]);
        if (t === undefined) return notFound;
        const b = body as { label?: string; description?: string; resources?: { type: string; path: string; scopes: string[] }[]; is_active?: boolean };
        if (b.label !== undefined) t.label = b.label;
        if (b.description !== undefined) t.description = b.description;
        if (b.resources !== undefined) t.resources = b.resources;
        if (b.is_active !== undefined) await this.#setActive(t, b.is_active);
        return { status: 200, body: { ...oatView(t), resources: t.resources } };
      }
      case "DELETE /v2/orgs/{org_name}/access-tokens/{access_token_id}": {
        if (!this.orgs.has(seg[3] ?? "")) return forbidden;
        const t = oat(seg[3], seg[5]);
        if (t === undefined) return notFound;
        await this.#delete(t);
        return { status: 204 };
      }
      default:
        return notFound;
    }
  }

  #atLimit(owner: string): boolean {
    if (this.maxTokens === undefined) return false;
    return [...this.#tokens.values()].filter((t) => t.owner === owner).length >= this.maxTokens;
  }

  #limitReached(what: "personal" | "organization"): { status: number; body: unknown } {
    return {
      status: TOKEN_LIMIT_STATUS,
      body: { errinfo: {}, detail: `You have reached the maximum number of ${what} access tokens (${this.maxTokens ?? 0}) for your plan.`, message: "access token limit reached" },
    };
  }

  async #mint(kind: "pat" | "oat", owner: string, fields: { label: string; description: string; scopes: string[]; resources: Token["resources"]; expiresAt: string | null }): Promise<Token> {
    const id = randomUUID();
    const t: Token = {
      kind,
      id,
      owner,
      value: `dckr_${kind}_${randomBytes(20).toString("base64url")}`,
      registryUser: `${owner}.${id.slice(0, 8)}`,
      label: fields.label,
      description: fields.description,
      scopes: fields.scopes,
      resources: fields.resources,
      createdAt: new Date(this.#now).toISOString(),
      expiresAt: fields.expiresAt,
      isActive: true,
      installed: false,
    };
    this.#tokens.set(id, t);
    this.#logins.set(t.value, t.registryUser);
    if (!this.#expired(t)) {
      await this.registry.install(t.registryUser, t.value);
      t.installed = true;
    }
    return t;
  }

  async #setActive(t: Token, active: boolean): Promise<void> {
    t.isActive = active;
    if (active && !t.installed && !this.#expired(t)) {
      await this.registry.install(t.registryUser, t.value);
      t.installed = true;
    } else if (!active && t.installed) {
      t.installed = false;
      await this.registry.remove(t.registryUser);
    }
  }

  async #delete(t: Token): Promise<void> {
    this.#tokens.delete(t.id);
    if (t.installed) {
      t.installed = false;
      await this.registry.remove(t.registryUser);
    }
  }

  #expired(t: Token): boolean {
    return t.expiresAt !== null && Date.parse(t.expiresAt) <= this.#now;
  }

  async #expire(): Promise<void> {
    for (const t of this.#tokens.values()) {
      if (t.installed && this.#expired(t)) {
        t.installed = false;
        await this.registry.remove(t.registryUser);
      }
    }
  }
}

/** Docker Hub's `page` (from 1) and `page_size` (default 10) query parameters. */
function paging(query: URLSearchParams): { page: number; size: number } {
  return { page: Math.max(1, Math.floor(Number(query.get("page") ?? 1))), size: Math.max(1, Math.floor(Number(query.get("page_size") ?? 10))) };
}

function patView(t: Token): Record<string, unknown> {
  return {
    uuid: t.id,
    client_id: "HUB",
    creator_ip: "127.0.0.1",
    creator_ua: "pullkeeper-test",
    created_at: t.createdAt,
    last_used: null,
    generated_by: "manual",
    is_active: t.isActive,
    token: "",
    token_label: t.label,
    scopes: t.scopes,
    ...(t.expiresAt === null ? {} : { expires_at: t.expiresAt }),
  };
}

function oatView(t: Token): Record<string, unknown> {
  return {
    id: t.id,
    label: t.label,
    created_by: "pullkeeper-admin",
    is_active: t.isActive,
    created_at: t.createdAt,
    expires_at: t.expiresAt,
    last_used_at: null,
  };
}

function defaultBody(status: number): unknown {
  if (status === 429) return { detail: "Rate limit exceeded", error: false };
  return { errinfo: {}, detail: status >= 500 ? "Service unavailable" : "Error", message: "error" };
}

/** Looks like the JWT Docker Hub hands out (header.payload.signature), signed by nothing. */
function jwtLike(subject: string, now: number): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part({ sub: subject, iat: Math.floor(now / 1000), exp: Math.floor((now + ACCESS_TOKEN_TTL_MS) / 1000), jti: randomUUID() })}.${randomBytes(16).toString("base64url")}`;
}

/** What useFakeDockerHub sets up for a test file; read its fields inside tests and hooks. */
export interface FakeDockerHubWorld {
  readonly hub: FakeDockerHub;
  readonly registry: CredentialRegistry;
}

/** beforeAll/afterAll hooks: a credential registry and a fake Docker Hub minting into it, per test file. */
export function useFakeDockerHub(options: Omit<DockerHubOptions, "registry"> = {}): FakeDockerHubWorld {
  return useProviderFake(
    "useFakeDockerHub",
    async (registry) => {
      const hub = await FakeDockerHub.start({ ...options, registry });
      return { fake: hub, world: { hub, registry } };
    },
    { stop: (hub) => hub.stop() },
  );
}
