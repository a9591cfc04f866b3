import type { Credential } from "../../model/credential.js";
import { ProviderError, type ProviderHttp, providerFailure, type ProviderResponse } from "../../model/provider-api.js";
import type { DockerHubTokenSource } from "./source.js";

/** Docker Hub's access-token API, the calls the source makes (docs.docker.com/reference/api/hub/latest). */

/** The limiter's bucket for Docker Hub's API. */
export const DOCKER_HUB_PROVIDER = "docker-hub-api";

/** A token as Docker Hub lists it (never its value). */
export interface HubToken {
  readonly id: string;
  readonly label: string;
}

/** Docker Hub answers 403 both to a missing permission and to a full token quota; the quota's answer says "limit". */
const quotaReached = (r: ProviderResponse): boolean => r.status === 403 && /limit|maximum/i.test(messageOf(r.body));

function messageOf(body: unknown): string {
  if (typeof body !== "object" || body === null) return "";
  const { message, detail } = body as { message?: unknown; detail?: unknown };
  return [message, detail].filter((v): v is string => typeof v === "string").join(" ");
}

/** One admin session: logs in once, then lists, creates and deletes the tokens of the source's owner. */
export class DockerHubApi {
  readonly #source: DockerHubTokenSource;
  readonly #http: ProviderHttp;
  readonly #now: () => number;
  readonly #base: string;
  #bearer: string | undefined;

  constructor(source: DockerHubTokenSource, http: ProviderHttp, now: () => number) {
    this.#source = source;
    this.#http = http;
    this.#now = now;
    this.#base = source.api.replace(/\/+$/, "");
  }

  /** POST /v2/auth/token with the admin login: the bearer every other call carries. */
  async login(admin: Credential): Promise<void> {
    const response = await this.#call("log in as the admin", { method: "POST", url: `${this.#base}/v2/auth/token`, json: { identifier: admin.username, secret: admin.password.reveal() } }, false);
    const token = (response.body as { access_token?: unknown } | undefined)?.access_token;
    if (response.status !== 200 || typeof token !== "string" || token === "") throw this.#failure("log in as the admin", response);
    this.#bearer = token;
  }

  /** Every token of the owner whose label is `label` (following `next` only within the API's base URL). */
  async find(label: string): Promise<HubToken[]> {
    const found: HubToken[] = [];
    let url: string | undefined = `${this.#tokensUrl()}?page=1&page_size=100`;
    for (let pages = 0; url !== undefined && pages < 100; pages++) {
      const response = await this.#call("list access tokens", { method: "GET", url });
      if (response.status !== 200) throw this.#failure("list access tokens", response);
      const body = (response.body ?? {}) as { results?: unknown; next?: unknown };
      for (const t of Array.isArray(body.results) ? (body.results as Record<string, unknown>[]) : []) {
        const id = this.#source.organization !== undefined ? t.id : t.uuid;
        const tokenLabel = this.#source.organization !== undefined ? t.label : t.token_label;
        if (typeof id === "string" && tokenLabel === label) found.push({ id, label });
      }
      // A `next` elsewhere would carry the admin's bearer to another host: stop there.
      url = typeof body.next === "string" && body.next.startsWith(`${this.#base}/`) ? body.next : undefined;
    }
    return found;
  }

  /** Creates a pull-only token labelled `label` that expires `lifetime` from now; its value is shown this once. */
  async create(label: string, description: string): Promise<string> {
    const expiresAt = new Date(this.#now() + this.#source.lifetime * 1000).toISOString();
    const { organization, repositories } = this.#source;
    const json =
      organization !== undefined
        ? { label, description, expires_at: expiresAt, resources: (repositories ?? [`${organization}/*`]).map((path) => ({ type: "TYPE_REPO", path, scopes: ["scope-image-pull"] })) }
        : { token_label: label, scopes: ["repo:read"], expires_at: expiresAt };
    const response = await this.#call("create an access token", { method: "POST", url: this.#tokensUrl(), json });
    const token = (response.body as { token?: unknown } | undefined)?.token;
    if (response.status !== 201 || typeof token !== "string" || token === "") throw this.#failure("create an access token", response);
    return token;
  }

  /** Deletes a token; one already gone is fine. */
  async delete(id: string): Promise<void> {
    const response = await this.#call("delete an access token", { method: "DELETE", url: `${this.#tokensUrl()}/${encodeURIComponent(id)}` });
    if (response.status !== 204 && response.status !== 200 && response.status !== 404) throw this.#failure("delete an access token", response);
  }

  #tokensUrl(): string {
    const { organization } = this.#source;
    return organization !== undefined ? `${this.#base}/v2/orgs/${encodeURIComponent(organization)}/access-tokens` : `${this.#base}/v2/access-tokens`;
  }

  async #call(what: string, request: { method: "GET" | "POST" | "DELETE"; url: string; json?: unknown }, authorized = true): Promise<ProviderResponse> {
    if (authorized && this.#bearer === undefined) throw new ProviderError("admin_rejected", `Docker Hub: ${what}: not logged in`);
    return this.#http.request(DOCKER_HUB_PROVIDER, { ...request, ...(authorized && { headers: { authorization: `Bearer ${this.#bearer}` } }) });
  }

  #failure(what: string, response: ProviderResponse): ProviderError {
    return providerFailure("Docker Hub", what, response, { quota: quotaReached, nowMs: this.#now() });
  }
}
