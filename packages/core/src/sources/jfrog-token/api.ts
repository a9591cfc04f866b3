import type { Credential } from "../../model/credential.js";
import { ProviderError, type ProviderHttp, providerFailure, type ProviderResponse } from "../../model/provider-api.js";
import type { JFrogTokenSource } from "./source.js";

/** The JFrog Platform's Access Tokens API, the calls the source makes (`/access/api/v1/tokens`). */

/** The limiter's bucket for JFrog's API. */
export const JFROG_PROVIDER = "jfrog-api";

/** A token as JFrog lists it (never its value). */
export interface JFrogToken {
  readonly id: string;
  readonly description: string;
}

/**
 * JFrog documents no cap on live tokens. Should an instance refuse one for their number, the
 * answer would name it; the wording is not published, so only one that speaks of the number of
 * tokens counts (a refused expiry, "above the limit", must stay `admin_rejected`).
 */
const quotaReached = (r: ProviderResponse): boolean =>
  (r.status === 400 || r.status === 403 || r.status === 409) && /number of (?:access )?tokens|(?:access )?tokens? limit|too many (?:access )?tokens/i.test(messageOf(r.body));

function messageOf(body: unknown): string {
  if (typeof body !== "object" || body === null) return "";
  const { errors, error_description: description } = body as { errors?: unknown; error_description?: unknown };
  const messages = Array.isArray(errors) ? errors.map((e) => (e as { message?: unknown } | null)?.message) : [];
  return [...messages, description].filter((v): v is string => typeof v === "string").join(" ");
}

/** One admin session: lists, creates and revokes the tokens of the source's user. */
export class JFrogApi {
  readonly #source: JFrogTokenSource;
  readonly #http: ProviderHttp;
  readonly #now: () => number;
  readonly #tokens: string;
  readonly #bearer: string;

  constructor(source: JFrogTokenSource, admin: Credential, http: ProviderHttp, now: () => number) {
    this.#source = source;
    this.#http = http;
    this.#now = now;
    this.#tokens = `${source.api.replace(/\/+$/, "")}/access/api/v1/tokens`;
    this.#bearer = admin.password.reveal();
  }

  /** Every live token of the user whose description is `description` (JFrog filters; checked again here). */
  async find(description: string): Promise<JFrogToken[]> {
    const query = new URLSearchParams({ description, username: this.#source.username });
    const response = await this.#call("list access tokens", { method: "GET", url: `${this.#tokens}?${query}` });
    if (response.status !== 200) throw this.#failure("list access tokens", response);
    const listed = (response.body as { tokens?: unknown } | undefined)?.tokens;
    // The subject ends in /users/<username>; anything else is not this source's to revoke.
    const owner = `/users/${this.#source.username}`;
    return (Array.isArray(listed) ? (listed as Record<string, unknown>[]) : []).flatMap((t) =>
      typeof t.token_id === "string" && t.description === description && (typeof t.subject !== "string" || t.subject.endsWith(owner)) ? [{ id: t.token_id, description }] : [],
    );
  }

  /**
   * Creates a token of the user, with the source's scope, expiring `lifetime` from now, not
   * refreshable; its value is shown this once. A token JFrog made but that is unusable (no value,
   * or an expiry shorter than asked) is revoked before the refusal.
   */
  async create(description: string): Promise<string> {
    const { username, scope, lifetime } = this.#source;
    const json = { grant_type: "client_credentials", username, scope, expires_in: lifetime, refreshable: false, description };
    const response = await this.#call("create an access token", { method: "POST", url: this.#tokens, json });
    if (response.status !== 200) throw this.#failure("create an access token", response);
    const body = (response.body ?? {}) as { token_id?: unknown; access_token?: unknown; expires_in?: unknown };
    const shortened = typeof body.expires_in === "number" && body.expires_in < lifetime;
    if (typeof body.access_token === "string" && body.access_token !== "" && !shortened) return body.access_token;
    if (typeof body.token_id === "string" && body.token_id !== "") await this.revoke(body.token_id);
    throw new ProviderError(
      "provider_refused",
      shortened
        ? `JFrog: create an access token: HTTP 200: it expires in ${String(body.expires_in)} s, not the ${lifetime} s asked (a max-expiry setting?); revoked`
        : "JFrog: create an access token: HTTP 200: no token in the answer",
    );
  }

  /** Revokes a token; one already revoked (204) or gone (404) is fine. */
  async revoke(id: string): Promise<void> {
    const response = await this.#call("revoke an access token", { method: "DELETE", url: `${this.#tokens}/${encodeURIComponent(id)}` });
    if (response.status !== 200 && response.status !== 204 && response.status !== 404) throw this.#failure("revoke an access token", response);
  }

  #call(what: string, request: { method: "GET" | "POST" | "DELETE"; url: string; json?: unknown }): Promise<ProviderResponse> {
    if (this.#bearer === "") throw new ProviderError("admin_rejected", `JFrog: ${what}: the admin secret holds no access token`);
    return this.#http.request(JFROG_PROVIDER, { ...request, headers: { authorization: `Bearer ${this.#bearer}` } });
  }

  #failure(what: string, response: ProviderResponse): ProviderError {
    return providerFailure("JFrog", what, response, { quota: quotaReached, nowMs: this.#now() });
  }
}
