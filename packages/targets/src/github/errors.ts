import { DeliveryError } from "@pullkeeper/core";

/** Used when GitHub says "secondary rate limit" but sends no Retry-After (GitHub: wait at least a minute). */
export const SECONDARY_LIMIT_FALLBACK_MS = 60_000;

/** The parts of an Octokit RequestError that classification reads; nothing else of it is kept. */
interface RequestErrorShape {
  readonly status?: unknown;
  readonly response?: { readonly headers?: Readonly<Record<string, unknown>>; readonly data?: unknown };
}

export interface GitHubFailure {
  /** HTTP status, undefined for a network failure. */
  readonly status: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** GitHub's own `message` field, when the body had one. */
  readonly githubMessage: string | undefined;
}

/** Reads status, headers and GitHub's `message` out of whatever Octokit threw. */
export function githubFailure(error: unknown): GitHubFailure {
  const e = (typeof error === "object" && error !== null ? error : {}) as RequestErrorShape;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.response?.headers ?? {})) {
    if (typeof v === "string" || typeof v === "number") headers[k.toLowerCase()] = String(v);
  }
  const data = e.response?.data;
  const message = typeof data === "object" && data !== null && typeof (data as { message?: unknown }).message === "string" ? (data as { message: string }).message : undefined;
  // Octokit reports a network failure as status 500 with no response.
  const status = typeof e.status === "number" && e.response !== undefined ? e.status : undefined;
  return { status, headers, githubMessage: message };
}

/** GitHub's 422 when the key_id is not the current public key (the key was rotated since we cached it). */
export function isStaleKeyError(failure: GitHubFailure): boolean {
  return failure.status === 422 && failure.githubMessage !== undefined && /\bkey(?:_id)?\b|decrypt/i.test(failure.githubMessage);
}

export function isSecondaryRateLimit(failure: GitHubFailure): boolean {
  return failure.githubMessage !== undefined && /\bsecondary rate limit\b/i.test(failure.githubMessage);
}

/** Retry-After in seconds → ms; else the primary limit's x-ratelimit-reset (epoch seconds) → ms from now. */
export function retryAfterMs(failure: GitHubFailure, now: number): number | undefined {
  const retryAfter = failure.headers["retry-after"];
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(date - now, 0);
  }
  if (failure.headers["x-ratelimit-remaining"] === "0") {
    const reset = Number(failure.headers["x-ratelimit-reset"]);
    // One second past the reset, as GitHub advises.
    if (Number.isFinite(reset) && reset > 0) return Math.max(reset * 1000 - now + 1000, 1000);
  }
  return undefined;
}

/**
 * How long every worker must leave GitHub alone, read from an answer's status and headers alone
 * (before its body is parsed), or undefined when the answer says nothing of the kind: a 429, or
 * a 403 with a Retry-After or an exhausted primary limit, or any error with a Retry-After. A 403
 * secondary limit without the header is recognised later, from its body (githubDeliveryError).
 */
export function throttlePauseMs(status: number, headers: Headers, now: number): number | undefined {
  if (status < 400) return undefined;
  const plain: Record<string, string> = {};
  headers.forEach((value, name) => (plain[name.toLowerCase()] = value));
  const failure: GitHubFailure = { status, headers: plain, githubMessage: undefined };
  const limited = retryAfterMs(failure, now);
  if (status === 429) return limited ?? SECONDARY_LIMIT_FALLBACK_MS;
  if (status === 403) return limited;
  return failure.headers["retry-after"] === undefined ? undefined : limited;
}

/**
 * GitHub's `message`, only when it is short, single-line text, with anything we know to be
 * secret cut out. Octokit's own error message and its request (body, headers) are never used.
 */
function quoted(message: string | undefined, secrets: readonly string[]): string {
  if (message === undefined) return "";
  let text = message.replace(/\s+/g, " ").trim().slice(0, 200);
  for (const s of secrets) if (s.length > 0) text = text.split(s).join("[REDACTED]");
  return text === "" ? "" : ` ("${text}")`;
}

/**
 * Turns a failed GitHub call into a classified DeliveryError whose message pullkeeper wrote:
 * - 401: `unauthorized`, not retryable (the token is wrong, expired or revoked);
 * - 403 or 429 saying "secondary rate limit", 429, or a primary limit (x-ratelimit-remaining 0):
 *   `throttled`, retryable, with GitHub's Retry-After / reset as retryAfterMs;
 * - other 403: `forbidden`, not retryable (the token lacks a permission or scope);
 * - 404: `not_found`, not retryable (GitHub also says 404 for what the token may not see);
 * - 400, 422 and any other 4xx: `invalid_request`, not retryable;
 * - 5xx, network failures and anything unknown: `unavailable`, retryable.
 * `secrets` are the token and values of this delivery: they are cut out of GitHub's message.
 */
export function githubDeliveryError(error: unknown, what: string, secrets: readonly string[], now: number = Date.now()): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const failure = githubFailure(error);
  const { status } = failure;
  const said = quoted(failure.githubMessage, secrets);
  if (status === undefined) {
    return new DeliveryError("unavailable", `${what}: GitHub could not be reached (network error)`, { retryable: true });
  }
  const limited = retryAfterMs(failure, now);
  if (status === 429 || ((status === 403 || status === 429) && (isSecondaryRateLimit(failure) || failure.headers["x-ratelimit-remaining"] === "0"))) {
    const kind = isSecondaryRateLimit(failure) ? "secondary rate limit" : failure.headers["x-ratelimit-remaining"] === "0" ? "rate limit" : "rate limit (429)";
    const wait = limited ?? SECONDARY_LIMIT_FALLBACK_MS;
    return new DeliveryError("throttled", `${what}: GitHub ${kind} hit; retry after ${Math.ceil(wait / 1000)}s`, { retryable: true, retryAfterMs: wait });
  }
  if (status === 401) {
    return new DeliveryError("unauthorized", `${what}: GitHub rejected the token (401)${said}; check the token secret holds a valid, unexpired token`, { retryable: false });
  }
  if (status === 403) {
    return new DeliveryError("forbidden", `${what}: GitHub refused (403)${said}; the token lacks the permission this needs`, { retryable: false });
  }
  if (status === 404) {
    return new DeliveryError("not_found", `${what}: not found (404)${said}; the repository, organization or environment does not exist or the token cannot see it`, { retryable: false });
  }
  if (status === 400 || status === 422) {
    return new DeliveryError("invalid_request", `${what}: GitHub rejected the request (${status})${said}`, { retryable: false });
  }
  if (status >= 500) {
    return new DeliveryError("unavailable", `${what}: GitHub answered ${status}`, { retryable: true });
  }
  if (status >= 400) {
    return new DeliveryError("invalid_request", `${what}: GitHub answered ${status}${said}`, { retryable: false });
  }
  return new DeliveryError("unavailable", `${what}: unexpected GitHub status ${status}`, { retryable: true });
}
