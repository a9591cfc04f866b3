import type { SecretValue } from "../../model/secret-value.js";
import { type ProviderError, type ProviderHttp, providerFailure, type ProviderResponse } from "../../model/provider-api.js";
import type { GitLabTokenSource } from "./source.js";

/** GitLab's deploy-token and resource-access-token API (/api/v4), the calls the source makes (docs.gitlab.com/api/deploy_tokens, …/project_access_tokens, …/group_access_tokens). */

/** The limiter's bucket for GitLab's API. */
export const GITLAB_PROVIDER = "gitlab-api";

/** Pull only: the one scope that opens the registry for reading. */
const SCOPES = ["read_registry"];
/** Reporter: the least role that may pull a private project's images (an access token's bot user gets it). */
const REPORTER = 20;
const DAY_MS = 86_400_000;

/** A token as GitLab lists it (never its value). */
export interface GitLabTokenRef {
  readonly id: number;
  readonly name: string;
}

export interface MadeToken {
  readonly value: string;
  /** A deploy token's own username; undefined for an access token, which logs in with any. */
  readonly username: string | undefined;
}

/** A URL within `base` from a Link header's rel="next" (GitLab's keyset and offset pages carry one), else undefined. */
function linkNext(link: string | undefined, base: string): string | undefined {
  const match = /<([^>]+)>\s*;\s*rel="next"/.exec(link ?? "");
  return match?.[1]?.startsWith(`${base}/`) ? match[1] : undefined;
}

/** One admin session over the tokens of the source's project or group. */
export class GitLabApi {
  readonly #source: GitLabTokenSource;
  readonly #http: ProviderHttp;
  readonly #now: () => number;
  readonly #admin: SecretValue;
  readonly #base: string;
  readonly #deploy: boolean;

  constructor(source: GitLabTokenSource, http: ProviderHttp, now: () => number, admin: SecretValue) {
    this.#source = source;
    this.#http = http;
    this.#now = now;
    this.#admin = admin;
    this.#base = source.api.replace(/\/+$/, "");
    this.#deploy = source.kind === "deploy-token";
  }

  /** The live tokens named `name`, every page (following only links within the API's base URL). */
  async find(name: string): Promise<GitLabTokenRef[]> {
    const found: GitLabTokenRef[] = [];
    // Deploy-token lists take page/per_page; GitLab's description declares no paging parameters for access-token lists.
    let url: string | undefined = this.#deploy ? `${this.#tokensUrl()}?active=true&page=1&per_page=100` : `${this.#tokensUrl()}?state=active`;
    for (let pages = 0; url !== undefined && pages < 100; pages++) {
      const response = await this.#call({ method: "GET", url });
      if (response.status !== 200) throw this.#failure("list tokens", response);
      for (const t of Array.isArray(response.body) ? (response.body as Record<string, unknown>[]) : []) {
        if (typeof t.id === "number" && t.name === name) found.push({ id: t.id, name });
      }
      const nextPage = response.headers["x-next-page"];
      url = linkNext(response.headers["link"], this.#base) ?? (this.#deploy && nextPage !== undefined && /^\d+$/.test(nextPage) ? `${this.#tokensUrl()}?active=true&page=${nextPage}&per_page=100` : undefined);
    }
    return found;
  }

  /** Makes a `read_registry` token named `name` that expires `lifetime` from now; its value is shown this once. */
  async create(name: string, description: string): Promise<MadeToken> {
    const expires = this.#now() + this.#source.lifetime * 1000;
    // An access token's expires_at is a date, and it stops working at 00:00 UTC that day: round up, never shorten.
    const json = this.#deploy
      ? { name, scopes: SCOPES, expires_at: new Date(expires).toISOString() }
      : { name, description, scopes: SCOPES, access_level: REPORTER, expires_at: new Date(Math.ceil(expires / DAY_MS) * DAY_MS).toISOString().slice(0, 10) };
    const response = await this.#call({ method: "POST", url: this.#tokensUrl(), json });
    const body = (response.body ?? {}) as { id?: unknown; token?: unknown; username?: unknown };
    const usable = response.status === 201 && typeof body.token === "string" && body.token !== "" && (!this.#deploy || (typeof body.username === "string" && body.username !== ""));
    if (!usable) {
      // Made but unusable: delete it now, or it would live until it expires under a name no retry looks for.
      if (response.status === 201 && typeof body.id === "number") await this.delete(body.id).catch(() => undefined);
      throw this.#failure("create a token", response);
    }
    return { value: body.token as string, username: this.#deploy ? (body.username as string) : undefined };
  }

  /** Deletes a deploy token or revokes an access token; one already gone is fine. */
  async delete(id: number): Promise<void> {
    const what = this.#deploy ? "delete a deploy token" : "revoke an access token";
    const response = await this.#call({ method: "DELETE", url: `${this.#tokensUrl()}/${id}` });
    if (response.status !== 204 && response.status !== 200 && response.status !== 404) throw this.#failure(what, response);
  }

  #tokensUrl(): string {
    const { project, group } = this.#source;
    const owner = project !== undefined ? `projects/${encodeURIComponent(project)}` : `groups/${encodeURIComponent(group ?? "")}`;
    return `${this.#base}/api/v4/${owner}/${this.#deploy ? "deploy_tokens" : "access_tokens"}`;
  }

  #call(request: { method: "GET" | "POST" | "DELETE"; url: string; json?: unknown }): Promise<ProviderResponse> {
    return this.#http.request(GITLAB_PROVIDER, { ...request, headers: { "private-token": this.#admin.reveal() } });
  }

  #failure(what: string, response: ProviderResponse): ProviderError {
    return providerFailure("GitLab", `${what} of ${this.#source.project !== undefined ? "project" : "group"} ${this.#source.project ?? this.#source.group}`, response, { nowMs: this.#now() });
  }
}
