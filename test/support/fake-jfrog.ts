import { randomBytes, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { expectClean, FailureScript, type ScriptedOutcome, useProviderFake } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";
import type { RegistryLogin } from "./registry.js";

/**
 * A local stand-in for JFrog's Access Tokens REST API (`/access/api/v1/tokens`: create, list,
 * get, revoke), checked request by request against the hand-written description in
 * test/fixtures/provider-specs/jfrog.json (facts in jfrog.md).
 *
 * - Auth: `Authorization: Bearer <adminToken>` (401 otherwise); a token in `limitedTokens` is
 *   known but may not manage tokens (403).
 * - Create takes a form or JSON body; `expires_in` in seconds (default `defaultExpiresIn`, 0 =
 *   never), `scope` (default `applied-permissions/user`), `description`, `username` (default
 *   `adminUser`), `refreshable`. A refresh (`grant_type=refresh_token`) mints a new token id;
 *   `refreshRevokesPrevious` chooses whether the old access token keeps working (JFrog does not say).
 * - A request the description refuses is answered 400 and recorded in `violations`; the stand-in's
 *   own success answers are checked against the description too.
 * - Every live token is a shared login of its user in the CredentialRegistry passed in
 *   (`installShared(username, token)`): as on Artifactory, `docker login -u <username> -p <token>`
 *   opens the registry with any live token of that user, several at once
 *   (`registryLoginFor(token_id)` is `{username, password: token}`). It is removed on revoke or
 *   expiry (`tick(now)`) before the answer goes out. Reference tokens are not installed.
 * - `failNext()` scripts failures: a status with headers and body, a reset connection, a hang.
 * - Token values never appear in `requests`, `violations` or any message.
 */

export type { RequestMatch, ScriptedOutcome as ScriptedFailure } from "./provider-fake.js";

export interface JFrogRequest {
  readonly method: string;
  readonly path: string;
  readonly operation: string | undefined;
  readonly at: number;
  status: number;
}

export interface JFrogToken {
  readonly tokenId: string;
  readonly username: string;
  readonly subject: string;
  readonly scope: string;
  readonly description: string | undefined;
  readonly refreshable: boolean;
  /** Seconds; 0 = never. */
  readonly expiresIn: number;
  /** ms */
  readonly issuedAt: number;
  revoked: boolean;
  expired: boolean;
  installed: boolean;
}

const SERVICE_ID = "jfac@01hfakejfrogservice000000";

export class FakeJFrog {
  readonly requests: JFrogRequest[] = [];
  readonly violations: string[] = [];
  readonly tokens = new Map<string, JFrogToken>();
  adminToken: string;
  /** The user the admin token belongs to: tokens made without `username` are for it. */
  adminUser = "admin";
  readonly limitedTokens = new Set<string>();
  /** Seconds, when `expires_in` is not given (JFrog's platform default is typically a year). */
  defaultExpiresIn = 31_536_000;
  /** Whether a refresh stops the previous access token working (not documented by JFrog). */
  refreshRevokesPrevious = true;
  readonly #logins = new Map<string, RegistryLogin>();
  /** refresh token → token_id */
  readonly #refreshTokens = new Map<string, string>();
  readonly #script = new FailureScript<ScriptedOutcome>();
  #now: number;
  #server: LocalServer | undefined;
  readonly #spec = loadProviderSpec("jfrog");

  constructor(
    readonly registry: CredentialRegistry,
    options: { adminToken: string; now?: number },
  ) {
    this.adminToken = options.adminToken;
    this.#now = options.now ?? Date.now();
  }

  static async start(registry: CredentialRegistry, options: { adminToken: string; now?: number }): Promise<FakeJFrog> {
    const fake = new FakeJFrog(registry, options);
    fake.#server = await startServer((req, res) => fake.#handle(req, res));
    return fake;
  }

  /** The JFrog base URL: http://127.0.0.1:<port> (the API is under /access/api/v1). */
  get url(): string {
    if (this.#server === undefined) throw new Error("FakeJFrog: not started");
    return this.#server.url;
  }

  get now(): number {
    return this.#now;
  }

  /** Sets the clock; every token whose expiry has come stops opening the registry before this resolves. */
  async tick(now: number | Date): Promise<void> {
    this.#now = typeof now === "number" ? now : now.getTime();
    for (const token of this.tokens.values()) {
      if (token.revoked || token.expired || token.expiresIn === 0 || token.issuedAt + token.expiresIn * 1000 > this.#now) continue;
      token.expired = true;
      await this.#uninstall(token);
    }
  }

  failNext(...failures: ScriptedOutcome[]): void {
    this.#script.push(...failures);
  }

  takeViolations(): string[] {
    return this.violations.splice(0);
  }

  /** The Basic login the registry knows this token by (also after it stopped working). */
  registryLoginFor(tokenId: string): RegistryLogin | undefined {
    return this.#logins.get(tokenId);
  }

  resetScript(): void {
    this.#script.clear();
    this.#script.cutHung();
  }

  async close(): Promise<void> {
    this.resetScript();
    await this.#server?.close();
  }

  async #uninstall(token: JFrogToken): Promise<void> {
    if (!token.installed) return;
    token.installed = false;
    const login = this.#logins.get(token.tokenId);
    if (login !== undefined) await this.registry.removeShared(login.username, login.password);
  }

  async #handle(req: Received, res: ServerResponse): Promise<void> {
    const url = new URL(req.url, "http://fake.jfrog");
    const path = url.pathname;
    const record: JFrogRequest = { method: req.method, path, operation: undefined, at: Date.now(), status: 0 };
    this.requests.push(record);
    const send = (status: number, body?: unknown, headers: Readonly<Record<string, string>> = {}): void => {
      record.status = status;
      const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
      res.writeHead(status, text === undefined ? headers : { "content-type": typeof body === "string" ? "text/plain" : "application/json", ...headers });
      res.end(text);
    };
    const error = (status: number, code: string, message: string): void => send(status, { errors: [{ code, message }] });

    const contentType = String(req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    let body: unknown;
    let bodyProblem: string | undefined;
    if (req.body !== "") {
      if (contentType === "application/x-www-form-urlencoded") {
        body = new URLSearchParams(req.body);
      } else {
        try {
          body = JSON.parse(req.body);
        } catch {
          body = req.body;
          bodyProblem = "body is neither JSON nor a form";
        }
      }
    }
    const checked = this.#spec.check(req.method, path, url.searchParams, body, req.headers);
    (record as { operation: string | undefined }).operation = checked.operation;
    if (bodyProblem !== undefined) checked.violations.push(`${checked.operation ?? `${req.method} ${path}`}: ${bodyProblem}`);
    this.violations.push(...checked.violations);

    if (this.#script.play({ method: req.method, path }, res, record, send)) return;

    const auth = String(req.headers.authorization ?? "");
    const given = auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : undefined;
    if (given === undefined || (given !== this.adminToken && !this.limitedTokens.has(given))) return error(401, "UNAUTHORIZED", "Bad credentials");
    if (checked.operation === undefined) return error(404, "NOT_FOUND", "Not Found");
    if (given !== this.adminToken) return error(403, "FORBIDDEN", "Forbidden");
    if (checked.violations.length > 0) return error(400, "BAD_REQUEST", checked.violations.join("; "));

    const answer = (status: number, value: unknown): void => {
      this.violations.push(...this.#spec.checkResponse(checked.operation ?? "", status, value).map((v) => `stand-in answer: ${v}`));
      send(status, value);
    };
    const tokenId = this.#spec.match(req.method, path)?.pathValues.token_id;

    switch (checked.operation) {
      case "POST /access/api/v1/tokens": {
        const fields = body instanceof URLSearchParams ? Object.fromEntries(body) : ((body ?? {}) as Record<string, unknown>);
        const flag = (v: unknown): boolean => v === true || v === "true";
        let previous: JFrogToken | undefined;
        if (fields.grant_type === "refresh_token") {
          const id = this.#refreshTokens.get(String(fields.refresh_token ?? ""));
          previous = id === undefined ? undefined : this.tokens.get(id);
          if (previous === undefined || previous.revoked) return error(400, "BAD_REQUEST", "Invalid refresh token");
          this.#refreshTokens.delete(String(fields.refresh_token));
        }
        const expiresIn = fields.expires_in === undefined ? (previous?.expiresIn ?? this.defaultExpiresIn) : Number(fields.expires_in);
        const username = previous?.username ?? (fields.username === undefined ? this.adminUser : String(fields.username));
        const tokenIdNew = randomUUID();
        const token: JFrogToken = {
          tokenId: tokenIdNew,
          username,
          subject: `${SERVICE_ID}/users/${username}`,
          scope: previous?.scope ?? (fields.scope === undefined ? "applied-permissions/user" : String(fields.scope)),
          description: previous?.description ?? (fields.description === undefined ? undefined : String(fields.description)),
          refreshable: previous !== undefined || flag(fields.refreshable),
          expiresIn,
          issuedAt: this.#now,
          revoked: false,
          expired: false,
          installed: false,
        };
        const accessToken = fakeJwt();
        this.tokens.set(token.tokenId, token);
        this.#logins.set(token.tokenId, { username, password: accessToken });
        await this.registry.installShared(username, accessToken);
        token.installed = true;
        if (previous !== undefined && this.refreshRevokesPrevious) {
          previous.revoked = true;
          await this.#uninstall(previous);
        }
        const refreshToken = token.refreshable ? randomBytes(24).toString("base64url") : undefined;
        if (refreshToken !== undefined) this.#refreshTokens.set(refreshToken, token.tokenId);
        return answer(200, {
          token_id: token.tokenId,
          access_token: accessToken,
          ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
          ...(expiresIn === 0 ? {} : { expires_in: expiresIn }),
          scope: token.scope,
          token_type: "Bearer",
          ...(token.description === undefined ? {} : { description: token.description }),
        });
      }
      case "GET /access/api/v1/tokens": {
        const q = url.searchParams;
        const description = q.get("description");
        const matchDescription = (d: string | undefined): boolean =>
          description === null || (description.endsWith("*") ? (d ?? "").startsWith(description.slice(0, -1)) : d === description);
        const listed = [...this.tokens.values()].filter(
          (t) =>
            !t.revoked &&
            !t.expired &&
            matchDescription(t.description) &&
            (q.get("username") === null || t.username === q.get("username")) &&
            (q.get("token_id") === null || t.tokenId === q.get("token_id")) &&
            (q.get("refreshable") === null || String(t.refreshable) === q.get("refreshable")) &&
            (q.get("scope") === null || t.scope === q.get("scope")),
        );
        const order = q.get("order_by") ?? "created";
        const key = (t: JFrogToken): string | number =>
          order === "token_id" ? t.tokenId : order === "owner" || order === "subject" ? t.subject : order === "expiry" ? this.#expiry(t) ?? Infinity : t.issuedAt;
        listed.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
        if (q.get("descending_order") === "true") listed.reverse();
        return answer(200, { tokens: listed.map((t) => this.#info(t)) });
      }
      case "GET /access/api/v1/tokens/{token_id}": {
        const token = tokenId === undefined ? undefined : this.tokens.get(tokenId);
        if (token === undefined || token.revoked) return error(404, "NOT_FOUND", "Token not found");
        return answer(200, this.#info(token));
      }
      case "DELETE /access/api/v1/tokens/{token_id}": {
        const token = tokenId === undefined ? undefined : this.tokens.get(tokenId);
        if (token === undefined) return error(404, "NOT_FOUND", "Token not found");
        if (token.revoked) {
          record.status = 204;
          res.writeHead(204);
          res.end();
          return;
        }
        token.revoked = true;
        await this.#uninstall(token);
        return send(200, "Token revoked");
      }
      default:
        return error(404, "NOT_FOUND", "Not Found");
    }
  }

  /** Epoch seconds it expires at, or undefined when it never does. */
  #expiry(t: JFrogToken): number | undefined {
    return t.expiresIn === 0 ? undefined : Math.floor(t.issuedAt / 1000) + t.expiresIn;
  }

  #info(t: JFrogToken): Record<string, unknown> {
    const expiry = this.#expiry(t);
    return {
      token_id: t.tokenId,
      subject: t.subject,
      ...(expiry === undefined ? {} : { expiry }),
      issued_at: Math.floor(t.issuedAt / 1000),
      issuer: SERVICE_ID,
      ...(t.description === undefined ? {} : { description: t.description }),
      refreshable: t.refreshable,
    };
  }
}

/** An opaque value shaped like JFrog's access tokens (a JWT); nothing reads its claims. */
function fakeJwt(): string {
  const part = (n: number): string => randomBytes(n).toString("base64url");
  return `eyJ2ZXIiOiIyIiwidHlwIjoiSldUIiwiYWxnIjoiUlMyNTYifQ.${part(48)}.${part(64)}`;
}

/** What useFakeJFrog sets up for a test file; read its fields inside tests and hooks. */
export interface FakeJFrogWorld {
  readonly jfrog: FakeJFrog;
  readonly registry: CredentialRegistry;
  /** The admin bearer token the fake accepts. */
  readonly adminToken: string;
}

/**
 * Registers hooks: a credential registry and a FakeJFrog in front of it for the test file,
 * stopped after it; after each test, unused scripted failures are dropped and the test fails on
 * any violation it did not take (`takeViolations()`).
 */
export function useFakeJFrog(): FakeJFrogWorld {
  return useProviderFake(
    "useFakeJFrog",
    async (registry) => {
      const adminToken = fakeJwt();
      const jfrog = await FakeJFrog.start(registry, { adminToken });
      return { fake: jfrog, world: { jfrog, registry, adminToken } };
    },
    {
      stop: (jfrog) => jfrog.close(),
      after: (jfrog) => {
        jfrog.resetScript();
        expectClean(jfrog);
      },
    },
  );
}
