import type { Credential } from "../../model/credential.js";
import { ProviderError, type ProviderHttp, providerFailure, type ProviderRequest, type ProviderResponse } from "../../model/provider-api.js";
import type { AcrTokenSource } from "./source.js";

/**
 * The calls the acr-token source makes: Microsoft Entra ID's client-credentials grant for an
 * Azure Resource Manager access token, then ARM's Registries_GenerateCredentials, Tokens_Get and
 * Tokens_Update (containerregistry.json, api-version 2025-04-01).
 */

/** The limiter's bucket for Azure Resource Manager and the Entra ID sign-in that precedes it. */
export const AZURE_PROVIDER = "azure-arm-api";
export const ACR_API_VERSION = "2025-04-01";
/** A long-running GenerateCredentials is polled at most this many times, at most this long apart. */
const MAX_POLLS = 10;
const MAX_POLL_WAIT_MS = 5_000;

export type AcrSlot = "password1" | "password2";

/** A password slot as Tokens_Get lists it (never its value). */
export interface AcrPassword {
  readonly name: AcrSlot;
  readonly creationTime: number;
}

/** The tenant and client of a `<tenant id>/<client id>` admin username, or undefined when it is not one. */
export function principalOf(username: string): { tenant: string; clientId: string } | undefined {
  const match = /^([A-Za-z0-9.-]+)\/([0-9a-fA-F-]{36})$/.exec(username);
  return match?.[1] !== undefined && match[2] !== undefined ? { tenant: match[1], clientId: match[2] } : undefined;
}

/** Entra ID answers a wrong client, secret or tenant 400/401 with an OAuth `error`: the admin secret is wrong. */
const entraRejected = (r: ProviderResponse): boolean => (r.status === 400 || r.status === 401) && typeof (r.body as { error?: unknown } | undefined)?.error === "string";

/** One session as the service principal: signs in once, then regenerates, lists and removes the token's passwords. */
export class AcrApi {
  readonly #source: AcrTokenSource;
  readonly #http: ProviderHttp;
  readonly #now: () => number;
  readonly #api: string;
  readonly #registryPath: string;
  #bearer: string | undefined;

  constructor(source: AcrTokenSource, http: ProviderHttp, now: () => number) {
    this.#source = source;
    this.#http = http;
    this.#now = now;
    this.#api = source.api.replace(/\/+$/, "");
    this.#registryPath = `/subscriptions/${source.subscription}/resourceGroups/${encodeURIComponent(source.resourceGroup)}/providers/Microsoft.ContainerRegistry/registries/${source.registry}`;
  }

  async login(admin: Credential): Promise<void> {
    const what = "sign in as the service principal";
    const principal = principalOf(admin.username);
    if (principal === undefined) throw new ProviderError("admin_rejected", `Azure: ${what}: the admin secret's username is not <tenant id>/<client id>`);
    const url = `${this.#source.login.replace(/\/+$/, "")}/${encodeURIComponent(principal.tenant)}/oauth2/v2.0/token`;
    // The resource is ARM itself: https://management.azure.com/.default in Azure's public cloud, another cloud's own URL there.
    const form = { grant_type: "client_credentials", client_id: principal.clientId, client_secret: admin.password.reveal(), scope: `${new URL(this.#api).origin}/.default` };
    const response = await this.#http.request(AZURE_PROVIDER, { method: "POST", url, form });
    const token = (response.body as { access_token?: unknown } | undefined)?.access_token;
    if (response.status !== 200 || typeof token !== "string" || token === "") {
      if (entraRejected(response)) throw new ProviderError("admin_rejected", `Azure: ${what}: HTTP ${response.status}: Entra ID refused the client id or secret; check the secret the source's \`admin\` names`);
      throw this.#failure(what, response);
    }
    this.#bearer = token;
  }

  /** Regenerates `slot`'s password, expiring `lifetime` from now; its value is shown this once. */
  async generate(slot: AcrSlot): Promise<string> {
    const what = `generate the token's ${slot}`;
    const expiry = new Date(this.#now() + this.#source.lifetime * 1000).toISOString();
    const json = { tokenId: `${this.#registryPath}/tokens/${this.#source.token}`, name: slot, expiry };
    let response = await this.#call(what, { method: "POST", url: this.#url("/generateCredentials"), json });
    // The description makes it a long-running operation: 202 with the result at Location.
    for (let polls = 0; response.status === 202 && polls < MAX_POLLS; polls++) {
      const location = response.headers.location;
      // A Location elsewhere would carry the bearer to another host: refuse it.
      if (location === undefined || !location.startsWith(`${this.#api}/`)) throw new ProviderError("provider_refused", `Azure: ${what}: HTTP 202 without a Location within the API's base URL`);
      await wait(Math.min(Number(response.headers["retry-after"] ?? 1) * 1000 || 0, MAX_POLL_WAIT_MS));
      response = await this.#call(what, { method: "GET", url: location });
    }
    if (response.status === 202) throw new ProviderError("provider_unavailable", `Azure: ${what}: still running after ${MAX_POLLS} polls; the current credential stays`);
    const passwords = (response.body as { passwords?: unknown } | undefined)?.passwords;
    const value = Array.isArray(passwords) ? (passwords as { name?: unknown; value?: unknown }[]).find((p) => p.name === slot)?.value : undefined;
    if (response.status !== 200 || typeof value !== "string" || value === "") throw this.#failure(what, response);
    return value;
  }

  /** The token's password slots that hold a password, with their creation times. */
  async passwords(): Promise<AcrPassword[]> {
    const what = "read the token";
    const response = await this.#call(what, { method: "GET", url: this.#url(`/tokens/${this.#source.token}`) });
    if (response.status !== 200) throw this.#failure(what, response);
    const listed = (response.body as { properties?: { credentials?: { passwords?: unknown } } } | undefined)?.properties?.credentials?.passwords;
    return (Array.isArray(listed) ? (listed as { name?: unknown; creationTime?: unknown }[]) : []).flatMap((p) => {
      const created = typeof p.creationTime === "string" ? Date.parse(p.creationTime) : Number.NaN;
      if (p.name !== "password1" && p.name !== "password2") return [];
      // Without its creation time a password's slot cannot be told from the other's: refuse rather than guess and overwrite the current one.
      if (Number.isNaN(created)) throw new ProviderError("provider_refused", `Azure: ${what}: ${p.name} is listed without a creationTime`);
      return [{ name: p.name, creationTime: created }];
    });
  }

  /** Tokens_Update with only `keep` in `credentials.passwords`: every other slot's password is removed (as `az acr token credential delete` does). */
  async keepOnly(keep: readonly AcrSlot[]): Promise<void> {
    const what = "remove a password from the token";
    const json = { properties: { credentials: { passwords: keep.map((name) => ({ name })) } } };
    const response = await this.#call(what, { method: "PATCH", url: this.#url(`/tokens/${this.#source.token}`), json });
    if (response.status !== 200 && response.status !== 201) throw this.#failure(what, response);
  }

  #url(path: string): string {
    return `${this.#api}${this.#registryPath}${path}?api-version=${ACR_API_VERSION}`;
  }

  async #call(what: string, request: Omit<ProviderRequest, "headers">): Promise<ProviderResponse> {
    if (this.#bearer === undefined) throw new ProviderError("admin_rejected", `Azure: ${what}: not signed in`);
    return this.#http.request(AZURE_PROVIDER, { ...request, headers: { authorization: `Bearer ${this.#bearer}` } });
  }

  #failure(what: string, response: ProviderResponse): ProviderError {
    // ARM has no limit that regenerating a password meets: no quota to recognise.
    return providerFailure("Azure", what, response, { nowMs: this.#now() });
  }
}

function wait(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
