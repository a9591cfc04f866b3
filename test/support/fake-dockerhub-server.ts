/** Fake Docker Hub HTTP server: spec-checked request handling and the access-token routes over DockerHubTokenStore. */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { FailureScript, jsonSender, parseBody, redactAuthorization, redactFields } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";
import {
  ACCESS_TOKEN_TTL_MS,
  type DockerHubFailure,
  type DockerHubOptions,
  type DockerHubRequest,
  type DockerHubTokenView,
  DockerHubTokenStore,
  defaultBody,
  jwtLike,
  oatView,
  paging,
  patView,
  type Token,
} from "./fake-dockerhub-tokens.js";

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
  readonly #store: DockerHubTokenStore;
  readonly #sessions = new Map<string, number>();
  readonly #script = new FailureScript<DockerHubFailure, { method: string; path: string; operation: string | undefined }>();
  #server: LocalServer | undefined;

  private constructor(options: DockerHubOptions) {
    this.registry = options.registry;
    this.username = options.username ?? "pullkeeper-admin";
    this.#secret = options.secret ?? `admin-${randomBytes(12).toString("hex")}`;
    this.orgs = new Set(options.orgs ?? ["acme"]);
    this.maxTokens = options.maxTokens;
    this.#store = new DockerHubTokenStore(options.registry, options.now ?? Date.now());
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
    return this.#store.now;
  }

  /** Sets the clock (default: forward to Date.now()) and removes from the registry every token now past `expires_at`. */
  async tick(now: number = Date.now()): Promise<void> {
    this.#store.now = now;
    await this.#store.expire();
  }

  /** Answers the next matching request with `failure` instead of handling it (queued in order). */
  failNext(...failures: DockerHubFailure[]): void {
    this.#script.push(...failures);
  }

  /** The registry login a minted token opens, or opened before it was deleted: its owner (user or organization) and the token (undefined for a token the fake never minted). */
  registryLoginFor(token: string): { username: string; password: string } | undefined {
    const username = this.#store.logins.get(token);
    return username === undefined ? undefined : { username, password: token };
  }

  /** The tokens Docker Hub holds, without their values. */
  tokens(): DockerHubTokenView[] {
    return [...this.#store.tokens.values()].map((t) => ({
      kind: t.kind,
      id: t.id,
      owner: t.owner,
      label: t.label,
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
    await this.#store.expire();

    if (checked.operation === "POST /v2/auth/token") {
      const b = body as { identifier: string; secret: string };
      if (b.identifier !== this.username || b.secret !== this.#secret) {
        send(401, { errinfo: {}, detail: "Incorrect authentication credentials", message: "Incorrect authentication credentials" });
        return;
      }
      const session = jwtLike(this.username, this.#store.now);
      this.#sessions.set(session, this.#store.now + ACCESS_TOKEN_TTL_MS);
      const answer = { access_token: session };
      this.violations.push(...spec.checkResponse("POST /v2/auth/token", 200, answer).map((v) => `the fake's answer: ${v}`));
      send(200, answer);
      return;
    }

    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const until = bearer === undefined ? undefined : this.#sessions.get(bearer);
    if (until === undefined || until <= this.#store.now) {
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
      const t = id === undefined ? undefined : this.#store.tokens.get(id);
      return t?.kind === "pat" && t.owner === this.username ? t : undefined;
    };
    const oat = (org: string | undefined, id: string | undefined): Token | undefined => {
      const t = id === undefined ? undefined : this.#store.tokens.get(id);
      return t?.kind === "oat" && t.owner === org ? t : undefined;
    };
    switch (operation) {
      case "POST /v2/access-tokens": {
        const b = body as { token_label: string; scopes: string[]; expires_at?: string };
        if (this.#store.atLimit(this.username, this.maxTokens)) return this.#store.limitReached("personal", this.maxTokens);
        const t = await this.#store.mint("pat", this.username, { label: b.token_label, description: "", scopes: b.scopes, resources: [], expiresAt: b.expires_at ?? null });
        return { status: 201, body: { ...patView(t), token: t.value } };
      }
      case "GET /v2/access-tokens": {
        const all = [...this.#store.tokens.values()].filter((t) => t.kind === "pat" && t.owner === this.username);
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
        if (b.is_active !== undefined) await this.#store.setActive(t, b.is_active);
        return { status: 200, body: patView(t) };
      }
      case "DELETE /v2/access-tokens/{uuid}": {
        const t = pat(seg[3]);
        if (t === undefined) return notFound;
        await this.#store.delete(t);
        return { status: 204 };
      }
      case "POST /v2/orgs/{name}/access-tokens": {
        const org = seg[3] ?? "";
        if (!this.orgs.has(org)) return forbidden;
        const b = body as { label: string; description?: string; resources?: { type: string; path: string; scopes: string[] }[]; expires_at?: string | null };
        if (this.#store.atLimit(org, this.maxTokens)) return this.#store.limitReached("organization", this.maxTokens);
        const t = await this.#store.mint("oat", org, { label: b.label, description: b.description ?? "", scopes: [], resources: b.resources ?? [], expiresAt: b.expires_at ?? null });
        return { status: 201, body: { ...oatView(t), resources: t.resources, token: t.value } };
      }
      case "GET /v2/orgs/{name}/access-tokens": {
        const org = seg[3] ?? "";
        if (!this.orgs.has(org)) return forbidden;
        const all = [...this.#store.tokens.values()].filter((t) => t.kind === "oat" && t.owner === org);
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
        if (b.is_active !== undefined) await this.#store.setActive(t, b.is_active);
        return { status: 200, body: { ...oatView(t), resources: t.resources } };
      }
      case "DELETE /v2/orgs/{org_name}/access-tokens/{access_token_id}": {
        if (!this.orgs.has(seg[3] ?? "")) return forbidden;
        const t = oat(seg[3], seg[5]);
        if (t === undefined) return notFound;
        await this.#store.delete(t);
        return { status: 204 };
      }
      default:
        return notFound;
    }
  }

}
