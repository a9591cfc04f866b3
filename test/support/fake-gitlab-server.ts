/** Fake GitLab HTTP server: spec-checked deploy/access-token routes, token lifecycle and registry installs. */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import { type GitLabRequest, type GitLabToken, type GitLabTokenKind, gitlabEntity, header, opensRegistry } from "./fake-gitlab-tokens.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { FailureScript, type ScriptedOutcome, jsonSender, parseBody } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";
import type { RegistryLogin } from "./registry.js";

export class FakeGitLab {
  readonly requests: GitLabRequest[] = [];
  readonly violations: string[] = [];
  readonly tokens = new Map<number, GitLabToken>();
  /** The PRIVATE-TOKEN accepted for managing tokens. */
  adminToken: string;
  /** Known tokens without the permission to manage tokens: 403. */
  readonly limitedTokens = new Set<string>();
  /** Accept `read_registry`/`write_registry` on access tokens, as GitLab's documentation (not its description) does. */
  allowDocumentedRegistryScopes = false;
  /**
   * The username an access token opens the registry with. GitLab takes any non-blank one (only a
   * deploy token's is checked), but htpasswd needs one: the bot user's name (default), or the
   * token's name, as a client that logs in with the name it gave the token does. By name, each
   * token is a shared login (`installShared`), so tokens with one name all work.
   */
  accessTokenLogin: "bot" | "name" = "bot";
  /** Every login that ever opened the registry, by token id (kept after delete so tests can show it no longer does). */
  readonly #logins = new Map<number, RegistryLogin>();
  /** Tokens installed as a shared login (access tokens by name). */
  readonly #shared = new Set<number>();
  readonly #script = new FailureScript<ScriptedOutcome>();
  readonly #numericIds = new Map<string, number>();
  #nextId = 1;
  #now: number;
  #server: LocalServer | undefined;
  readonly #spec = loadProviderSpec("gitlab");

  constructor(
    readonly registry: CredentialRegistry,
    options: { adminToken: string; now?: number },
  ) {
    this.adminToken = options.adminToken;
    this.#now = options.now ?? Date.now();
  }

  static async start(registry: CredentialRegistry, options: { adminToken: string; now?: number }): Promise<FakeGitLab> {
    const fake = new FakeGitLab(registry, options);
    fake.#server = await startServer((req, res) => fake.#handle(req, res));
    return fake;
  }

  /** http://127.0.0.1:<port> (the API is under /api/v4). */
  get url(): string {
    if (this.#server === undefined) throw new Error("FakeGitLab: not started");
    return this.#server.url;
  }

  /** The fake's clock (ms). */
  get now(): number {
    return this.#now;
  }

  /** Sets the clock; every token whose expiry has come stops opening the registry before this resolves. */
  async tick(now: number | Date): Promise<void> {
    this.#now = typeof now === "number" ? now : now.getTime();
    await this.#expire();
  }

  /** Answers the next matching request with `failure` instead of handling it (queued in order). */
  failNext(...failures: ScriptedOutcome[]): void {
    this.#script.push(...failures);
  }

  /** The violations so far, cleared. */
  takeViolations(): string[] {
    return this.violations.splice(0);
  }

  /** The Basic login the registry knows this token by (also after it stopped working), or undefined for a token that never opens it. */
  registryLoginFor(id: number): RegistryLogin | undefined {
    return this.#logins.get(id);
  }

  /** Drops scripted failures not used yet and answers hung requests' sockets by closing them. */
  resetScript(): void {
    this.#script.clear();
    this.#script.cutHung();
  }

  async close(): Promise<void> {
    this.resetScript();
    await this.#server?.close();
  }

  async #expire(): Promise<void> {
    for (const token of this.tokens.values()) {
      if (token.revoked || token.expired || token.expiresAtMs === undefined || token.expiresAtMs > this.#now) continue;
      token.expired = true;
      await this.#uninstall(token);
    }
  }

  async #uninstall(token: GitLabToken): Promise<void> {
    if (!token.installed) return;
    token.installed = false;
    const login = this.#logins.get(token.id);
    if (this.#shared.has(token.id) && login !== undefined) await this.registry.removeShared(login.username, login.password);
    else await this.registry.remove(token.username);
  }

  async #handle(req: Received, res: ServerResponse): Promise<void> {
    const url = new URL(req.url, "http://fake.gitlab");
    const path = url.pathname;
    const record: GitLabRequest = { method: req.method, path, operation: undefined, at: Date.now(), status: 0 };
    this.requests.push(record);
    const send = jsonSender(res, record);
    const body = parseBody(req);
    const checked = this.#spec.check(req.method, path, url.searchParams, this.#forCheck(req.method, path, body), req.headers);
    (record as { operation: string | undefined }).operation = checked.operation;
    if (typeof body === "string") checked.violations.push(`${checked.operation ?? `${req.method} ${path}`}: body is not JSON`);
    this.violations.push(...checked.violations);

    if (this.#script.play({ method: req.method, path }, res, record, send)) return;

    const given = header(req.headers["private-token"]) ?? url.searchParams.get("private_token") ?? undefined;
    if (given === undefined || (given !== this.adminToken && !this.limitedTokens.has(given))) return send(401, { message: "401 Unauthorized" });
    if (checked.operation === undefined) return send(404, { error: "404 Not Found" });
    if (given !== this.adminToken) return send(403, { message: "403 Forbidden" });
    if (checked.violations.length > 0) return send(400, { error: checked.violations.join("; ") });

    const { pathValues } = this.#spec.match(req.method, path) ?? { pathValues: {} as Record<string, string> };
    const resourceType = path.startsWith("/api/v4/groups/") ? "group" : "project";
    const resource = pathValues.id ?? "";
    const kind: GitLabTokenKind = checked.operation.includes("/deploy_tokens") ? "deploy" : "access";
    const tokenId = pathValues.token_id === undefined ? undefined : Number(pathValues.token_id);
    const find = (): GitLabToken | undefined => {
      const t = tokenId === undefined || !Number.isInteger(tokenId) ? undefined : this.tokens.get(tokenId);
      return t !== undefined && t.kind === kind && t.resourceType === resourceType && t.resource === resource ? t : undefined;
    };
    const answer = (status: number, value: unknown, headers?: Record<string, string>): void => {
      this.violations.push(...this.#spec.checkResponse(checked.operation ?? "", status, value).map((v) => `stand-in answer: ${v}`));
      send(status, value, headers);
    };

    switch (req.method) {
      case "POST": {
        const b = body as { name: string; scopes: string[]; expires_at?: string; username?: string; access_level?: number; description?: string };
        const result = kind === "deploy" ? await this.#createDeploy(resourceType, resource, b) : await this.#createAccess(resourceType, resource, b);
        if ("error" in result) return send(400, { message: result.error });
        return answer(201, result.body);
      }
      case "GET": {
        if (tokenId === undefined) {
          const mine = [...this.tokens.values()].filter((t) => t.kind === kind && t.resourceType === resourceType && t.resource === resource);
          if (kind === "access") {
            // GET …/access_tokens?state=active|inactive: the description declares no page or per_page here.
            const state = url.searchParams.get("state");
            const listed = state === null ? mine : mine.filter((t) => (!t.revoked && !t.expired) === (state === "active"));
            return answer(200, listed.map((t) => this.#entity(t)));
          }
          const active = url.searchParams.get("active");
          const all = mine.filter((t) => active !== "true" || (!t.revoked && !t.expired));
          const perPage = Math.max(1, Math.min(100, Number(url.searchParams.get("per_page") ?? 20)));
          const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
          const slice = all.slice((page - 1) * perPage, page * perPage);
          const headers: Record<string, string> = { "x-total": String(all.length), "x-page": String(page), "x-per-page": String(perPage) };
          if (page * perPage < all.length) headers["x-next-page"] = String(page + 1);
          return answer(200, slice.map((t) => this.#entity(t)), headers);
        }
        const token = find();
        if (token === undefined) return send(404, { message: `404 ${kind === "deploy" ? "Deploy Token" : "Token"} Not Found` });
        return answer(200, this.#entity(token));
      }
      case "DELETE": {
        const token = find();
        if (token === undefined || (kind === "access" && token.revoked)) return send(404, { message: `404 ${kind === "deploy" ? "Deploy Token" : "Token"} Not Found` });
        if (kind === "deploy") this.tokens.delete(token.id);
        else token.revoked = true;
        await this.#uninstall(token);
        record.status = 204;
        res.writeHead(204);
        res.end();
        return;
      }
      default:
        return send(405, { error: "405 Not Allowed" });
    }
  }

  /** The body as checked: with `allowDocumentedRegistryScopes`, the access-token scopes GitLab documents but the description leaves out are not held against it. */
  #forCheck(method: string, path: string, body: unknown): unknown {
    if (!this.allowDocumentedRegistryScopes || method !== "POST" || !/\/access_tokens$/.test(path) || typeof body !== "object" || body === null) return body;
    const b = body as { scopes?: unknown };
    if (!Array.isArray(b.scopes)) return body;
    return { ...b, scopes: b.scopes.filter((s) => s !== "read_registry" && s !== "write_registry") };
  }

  #numeric(resourceType: string, resource: string): number {
    if (/^\d+$/.test(resource)) return Number(resource);
    const key = `${resourceType}:${resource}`;
    let n = this.#numericIds.get(key);
    if (n === undefined) {
      n = 1000 + this.#numericIds.size;
      this.#numericIds.set(key, n);
    }
    return n;
  }

  async #createDeploy(resourceType: "project" | "group", resource: string, b: { name: string; scopes: string[]; expires_at?: string; username?: string }): Promise<{ body: unknown } | { error: string }> {
    const id = this.#nextId++;
    const username = b.username !== undefined && b.username !== "" ? b.username : `gitlab+deploy-token-${id}`;
    if (/[:\s]/.test(username)) return { error: "username is invalid" };
    if ([...this.tokens.values()].some((t) => t.installed && t.username === username)) {
      // htpasswd holds one password per user: the stand-in cannot hold two live tokens under one name.
      return { error: "username has already been taken" };
    }
    const expiresAtMs = b.expires_at === undefined ? undefined : Date.parse(b.expires_at);
    const token: GitLabToken = {
      id,
      kind: "deploy",
      resourceType,
      resource,
      name: b.name,
      scopes: [...b.scopes],
      username,
      userId: 0,
      expiresAt: b.expires_at,
      expiresAtMs,
      accessLevel: undefined,
      description: undefined,
      createdAt: this.#now,
      revoked: false,
      expired: expiresAtMs !== undefined && expiresAtMs <= this.#now,
      installed: false,
    };
    const secret = `gldt-${randomBytes(15).toString("base64url")}`;
    await this.#register(token, secret);
    return { body: { ...this.#entity(token), token: secret } };
  }

  async #createAccess(
    resourceType: "project" | "group",
    resource: string,
    b: { name: string; scopes: string[]; expires_at?: string; access_level?: number; description?: string },
  ): Promise<{ body: unknown } | { error: string }> {
    const expiresAt = b.expires_at ?? "";
    // GitLab: the token stops working at 00:00 UTC of its expiry date.
    const expiresAtMs = Date.parse(`${expiresAt}T00:00:00Z`);
    if (!Number.isFinite(expiresAtMs)) return { error: "expires_at is invalid" };
    if (expiresAtMs <= this.#now) return { error: "Expiration date must be in the future" };
    const id = this.#nextId++;
    const token: GitLabToken = {
      id,
      kind: "access",
      resourceType,
      resource,
      name: b.name,
      scopes: [...b.scopes],
      username: `${resourceType}_${this.#numeric(resourceType, resource)}_bot_${randomBytes(16).toString("hex")}`,
      userId: 10_000 + id,
      expiresAt,
      expiresAtMs,
      accessLevel: b.access_level ?? 40,
      description: b.description,
      createdAt: this.#now,
      revoked: false,
      expired: false,
      installed: false,
    };
    const secret = `glpat-${randomBytes(15).toString("base64url")}`;
    await this.#register(token, secret);
    return { body: { ...this.#entity(token), token: secret } };
  }

  async #register(token: GitLabToken, secret: string): Promise<void> {
    this.tokens.set(token.id, token);
    if (!opensRegistry(token)) return;
    const byName = token.kind === "access" && this.accessTokenLogin === "name";
    this.#logins.set(token.id, { username: byName ? token.name : token.username, password: secret });
    if (token.expired) return;
    if (byName) {
      this.#shared.add(token.id);
      await this.registry.installShared(token.name, secret);
    } else await this.registry.install(token.username, secret);
    token.installed = true;
  }

  #entity(t: GitLabToken): Record<string, unknown> {
    return gitlabEntity(t, () => this.#numeric(t.resourceType, t.resource));
  }
}
