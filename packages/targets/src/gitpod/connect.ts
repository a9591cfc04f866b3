import { DeliveryError } from "@pullkeeper/core";

/** A Connect error body: `{ code, message }` (https://connectrpc.com/docs/protocol#error-end-stream). */
interface ConnectErrorBody {
  readonly code?: string;
  readonly message?: string;
}

export interface ConnectCallOptions {
  readonly fetch: typeof fetch;
  readonly baseUrl: string;
  readonly token: string;
  readonly timeoutMs: number;
  /** Strings that must never appear in an error message (token, credential value). */
  readonly secrets: readonly string[];
}

const MAX_MESSAGE = 300;

/** Hides every secret, and keeps server text short. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join("[REDACTED]");
  }
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out;
}

/** Retry-After: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The Connect code Gitpod sent, else the one Connect's HTTP mapping implies. */
function connectCode(status: number, body: ConnectErrorBody | undefined): string {
  if (typeof body?.code === "string" && body.code !== "") return body.code;
  if (status === 400) return "invalid_argument";
  if (status === 401) return "unauthenticated";
  if (status === 403) return "permission_denied";
  if (status === 404) return "not_found";
  if (status === 409) return "already_exists";
  if (status === 429) return "resource_exhausted";
  if (status === 504) return "deadline_exceeded";
  if (status >= 500) return "unavailable";
  return "unknown";
}

/** Classifies a Connect error into the stable delivery codes. */
export function classifyConnectError(method: string, status: number, body: ConnectErrorBody | undefined, retryAfter: string | null, secrets: readonly string[]): DeliveryError {
  const code = connectCode(status, body);
  const said = typeof body?.message === "string" && body.message !== "" ? `: ${redact(body.message, secrets)}` : "";
  const what = `Gitpod ${method} answered HTTP ${status} ${code}${said}`;
  switch (code) {
    case "unauthenticated":
      return new DeliveryError("unauthorized", `${what} (is the personal access token valid and unexpired?)`, { retryable: false });
    case "permission_denied":
      return new DeliveryError("forbidden", `${what} (the token's user may not manage secrets in this scope)`, { retryable: false });
    case "not_found":
      return new DeliveryError("not_found", what, { retryable: false });
    case "resource_exhausted": {
      const retryAfterMs = parseRetryAfter(retryAfter);
      return new DeliveryError("throttled", what, retryAfterMs === undefined ? { retryable: true } : { retryable: true, retryAfterMs });
    }
    case "already_exists":
      return new DeliveryError("conflict", what, { retryable: true });
    case "invalid_argument":
    case "failed_precondition":
    case "out_of_range":
      return new DeliveryError("invalid_request", what, { retryable: false });
    case "unimplemented":
      return new DeliveryError("invalid_request", `${what} (is apiUrl Gitpod's public API?)`, { retryable: false });
    case "unavailable":
    case "deadline_exceeded":
    case "aborted":
    case "internal":
    case "unknown":
    case "data_loss":
    case "canceled":
      return new DeliveryError("unavailable", what, { retryable: true });
    default:
      return status >= 500
        ? new DeliveryError("unavailable", what, { retryable: true })
        : new DeliveryError("invalid_request", what, { retryable: false });
  }
}

/**
 * One unary Connect call with the JSON codec: `POST <base>/<service>/<method>`. Resolves with the
 * decoded response message; rejects with a classified DeliveryError that never holds a secret.
 */
export async function connectCall<T>(options: ConnectCallOptions, service: string, method: string, request: unknown): Promise<T> {
  const url = `${options.baseUrl}/${service}/${method}`;
  let response: Response;
  try {
    response = await options.fetch(url, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${options.token}`,
        "Content-Type": "application/json",
        "Connect-Protocol-Version": "1",
        "Connect-Timeout-Ms": String(options.timeoutMs),
        Accept: "application/json",
      },
      body: JSON.stringify(request),
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const reason =
      name === "TimeoutError" || name === "AbortError"
        ? `timed out after ${options.timeoutMs} ms`
        : `failed: ${redact(error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error), options.secrets)}`;
    throw new DeliveryError("unavailable", `Gitpod ${method} at ${new URL(url).origin} ${reason}`, { retryable: true });
  }

  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const reason = name === "TimeoutError" || name === "AbortError" ? `timed out after ${options.timeoutMs} ms` : "broke off";
    throw new DeliveryError("unavailable", `Gitpod ${method}: reading the response ${reason}`, { retryable: true });
  }

  if (response.status >= 300 && response.status < 400) {
    throw new DeliveryError("invalid_request", `Gitpod ${method} answered HTTP ${response.status} (a redirect: is apiUrl right?)`, { retryable: false });
  }
  let body: unknown;
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const errorBody = typeof body === "object" && body !== null ? (body as ConnectErrorBody) : undefined;
    throw classifyConnectError(method, response.status, errorBody, response.headers.get("retry-after"), options.secrets);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new DeliveryError("unavailable", `Gitpod ${method} answered HTTP ${response.status} with a body that is not a JSON object`, { retryable: true });
  }
  return body as T;
}
