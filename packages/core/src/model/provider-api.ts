import { UpstreamError } from "./errors.js";

/** A registry provider's management API, as a source's runtime calls it (Docker Hub, GitLab, JFrog…). */

export interface ProviderRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Absolute URL. Never carries a credential: those go in `headers` or `json`. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as application/json. */
  readonly json?: unknown;
  /** Sent as application/x-www-form-urlencoded instead (an OAuth token endpoint, such as Microsoft Entra ID's); not with `json`. */
  readonly form?: Readonly<Record<string, string>>;
}

export interface ProviderResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body; the text when it is not JSON; undefined when empty. */
  readonly body: unknown;
}

/**
 * One HTTP exchange with a provider, through the shared limiter (`provider` names its bucket).
 * Resolves with whatever status the provider answered (the source classifies it); rejects with a
 * retryable `provider_unavailable` UpstreamError when no answer came (reset, refused, timeout).
 */
export interface ProviderHttp {
  request(provider: string, request: ProviderRequest): Promise<ProviderResponse>;
}

/**
 * Why a provider call failed, in the words on-call acts on:
 * - `admin_rejected`: the admin credential is wrong, expired, or lacks the permission (fix the secret);
 * - `quota_reached`: the provider's limit on live credentials (tokens, robots) is reached;
 * - `provider_throttled`: 429, with `retryAfterMs` when the provider said how long;
 * - `provider_unavailable`: 5xx, or no answer at all;
 * - `provider_refused`: any other answer the source did not expect.
 */
export type ProviderFailureCode = "admin_rejected" | "quota_reached" | "provider_throttled" | "provider_unavailable" | "provider_refused";

/** A provider call that failed; its message names the provider, the call and the status, never a value. */
export class ProviderError extends UpstreamError {
  constructor(
    code: ProviderFailureCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(code, message, code === "provider_throttled" || code === "provider_unavailable");
  }
}

/** Seconds or an HTTP date, as Retry-After carries them; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The failure an unexpected answer means. `what` says which call ("create an organization access
 * token"); `quota` recognises the provider's "limit reached" answer, which shares its status with
 * others (Docker Hub answers 403 to both a missing permission and a full token quota).
 */
export function providerFailure(provider: string, what: string, response: ProviderResponse, options: { readonly quota?: (response: ProviderResponse) => boolean; readonly nowMs: number }): ProviderError {
  const { status } = response;
  const at = `${provider}: ${what}: HTTP ${status}`;
  if (options.quota?.(response)) return new ProviderError("quota_reached", `${at}: the provider's limit on live credentials is reached; delete unused ones or raise the limit`);
  if (status === 401 || status === 403) return new ProviderError("admin_rejected", `${at}: the admin credential was refused or lacks the permission; check the secret the source's \`admin\` names`);
  if (status === 429) {
    const wait = retryAfterMs(response.headers["retry-after"], options.nowMs);
    return new ProviderError("provider_throttled", `${at}: throttled${wait !== undefined ? `; retry after ${Math.ceil(wait / 1000)} s` : ""}`, wait);
  }
  if (status >= 500) return new ProviderError("provider_unavailable", `${at}: the provider is failing; the current credential stays`);
  return new ProviderError("provider_refused", `${at}: unexpected answer`);
}
