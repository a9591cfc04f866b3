/** Fake Docker Hub data model: request/option/token types, the token store (mint, activate, delete, expire, quota) and answer views. */
import { randomBytes, randomUUID } from "node:crypto";
import type { CredentialRegistry } from "./credential-registry.js";

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

export interface Token {
  readonly kind: "pat" | "oat";
  readonly id: string;
  readonly owner: string;
  readonly value: string;
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

/**
 * The tokens Docker Hub holds, its clock, and their registry logins: each live token is a shared
 * login of the registry (`installShared(owner, token)`), so every live token of one account or
 * organization opens it with the account or organization name as the username, as on Docker Hub.
 */
export class DockerHubTokenStore {
  readonly tokens = new Map<string, Token>();
  /** Every token ever minted (deleted ones too) → its owner, the registry username, so a test can check a revoked token is refused. */
  readonly logins = new Map<string, string>();
  now: number;

  constructor(readonly registry: CredentialRegistry, now: number) {
    this.now = now;
  }

  atLimit(owner: string, maxTokens: number | undefined): boolean {
    if (maxTokens === undefined) return false;
    return [...this.tokens.values()].filter((t) => t.owner === owner).length >= maxTokens;
  }

  limitReached(what: "personal" | "organization", maxTokens: number | undefined): { status: number; body: unknown } {
    return {
      status: TOKEN_LIMIT_STATUS,
      body: { errinfo: {}, detail: `You have reached the maximum number of ${what} access tokens (${maxTokens ?? 0}) for your plan.`, message: "access token limit reached" },
    };
  }

  async mint(kind: "pat" | "oat", owner: string, fields: { label: string; description: string; scopes: string[]; resources: Token["resources"]; expiresAt: string | null }): Promise<Token> {
    const id = randomUUID();
    const t: Token = {
      kind,
      id,
      owner,
      value: `dckr_${kind}_${randomBytes(20).toString("base64url")}`,
      label: fields.label,
      description: fields.description,
      scopes: fields.scopes,
      resources: fields.resources,
      createdAt: new Date(this.now).toISOString(),
      expiresAt: fields.expiresAt,
      isActive: true,
      installed: false,
    };
    this.tokens.set(id, t);
    this.logins.set(t.value, t.owner);
    if (!this.expired(t)) {
      await this.registry.installShared(t.owner, t.value);
      t.installed = true;
    }
    return t;
  }

  async setActive(t: Token, active: boolean): Promise<void> {
    t.isActive = active;
    if (active && !t.installed && !this.expired(t)) {
      await this.registry.installShared(t.owner, t.value);
      t.installed = true;
    } else if (!active && t.installed) {
      t.installed = false;
      await this.registry.removeShared(t.owner, t.value);
    }
  }

  async delete(t: Token): Promise<void> {
    this.tokens.delete(t.id);
    if (t.installed) {
      t.installed = false;
      await this.registry.removeShared(t.owner, t.value);
    }
  }

  expired(t: Token): boolean {
    return t.expiresAt !== null && Date.parse(t.expiresAt) <= this.now;
  }

  async expire(): Promise<void> {
    for (const t of this.tokens.values()) {
      if (t.installed && this.expired(t)) {
        t.installed = false;
        await this.registry.removeShared(t.owner, t.value);
      }
    }
  }
}

/** Docker Hub's `page` (from 1) and `page_size` (default 10) query parameters. */
export function paging(query: URLSearchParams): { page: number; size: number } {
  return { page: Math.max(1, Math.floor(Number(query.get("page") ?? 1))), size: Math.max(1, Math.floor(Number(query.get("page_size") ?? 10))) };
}

export function patView(t: Token): Record<string, unknown> {
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

export function oatView(t: Token): Record<string, unknown> {
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

export function defaultBody(status: number): unknown {
  if (status === 429) return { detail: "Rate limit exceeded", error: false };
  return { errinfo: {}, detail: status >= 500 ? "Service unavailable" : "Error", message: "error" };
}

/** Looks like the JWT Docker Hub hands out (header.payload.signature), signed by nothing. */
export function jwtLike(subject: string, now: number): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part({ sub: subject, iat: Math.floor(now / 1000), exp: Math.floor((now + ACCESS_TOKEN_TTL_MS) / 1000), jti: randomUUID() })}.${randomBytes(16).toString("base64url")}`;
}
