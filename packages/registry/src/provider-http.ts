import { type ProviderHttp, type ProviderRequest, type ProviderResponse, ProviderError, type RateLimiter, retryAfterMs } from "@pullkeeper/core";

/**
 * ProviderHttp over Node's fetch: a time budget per call, no redirects (a management API that
 * redirects is not the one configured), and the shared limiter when there is one — `acquire`
 * before each call, `pause` when the provider answers 429 with a Retry-After.
 */
export class FetchProviderHttp implements ProviderHttp {
  readonly #timeoutMs: number;
  readonly #limiter: Pick<RateLimiter, "acquire" | "pause"> | undefined;

  constructor(options: { readonly timeoutMs?: number; readonly limiter?: Pick<RateLimiter, "acquire" | "pause"> } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#limiter = options.limiter;
  }

  async request(provider: string, request: ProviderRequest): Promise<ProviderResponse> {
    const url = new URL(request.url);
    // Named by method and path only: a query may carry an identifier someone would rather not log.
    const what = `${provider}: ${request.method} ${url.pathname}`;
    try {
      await this.#limiter?.acquire(provider);
    } catch (error) {
      // Paused by an earlier Retry-After (from any process sharing the limiter), or out of budget: not sent at all.
      const wait = (error as { retryAfterMs?: unknown }).retryAfterMs;
      if (typeof wait !== "number") throw error;
      throw new ProviderError("provider_throttled", `${what}: not sent: ${error instanceof Error ? error.message : "the limiter said wait"}`, wait);
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        redirect: "manual",
        headers: {
          accept: "application/json",
          ...(request.json !== undefined && { "content-type": "application/json" }),
          ...(request.form !== undefined && { "content-type": "application/x-www-form-urlencoded" }),
          ...request.headers,
        },
        ...(request.json !== undefined && { body: JSON.stringify(request.json) }),
        ...(request.form !== undefined && { body: new URLSearchParams(request.form).toString() }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      const cause = (error as { cause?: { code?: unknown } }).cause?.code;
      throw new ProviderError("provider_unavailable", `${what}: ${timedOut ? `no answer within ${this.#timeoutMs / 1000} s` : `no answer (${typeof cause === "string" ? cause : "connection failed"})`}; the current credential stays`);
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new ProviderError("provider_unavailable", `${what}: the answer broke off; the current credential stays`);
    }
    let body: unknown = text === "" ? undefined : text;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: the source sees the text and calls the answer unexpected.
      }
    }
    if (response.status === 429) {
      const wait = retryAfterMs(headers["retry-after"], Date.now());
      if (wait !== undefined && wait > 0) await this.#limiter?.pause(provider, Date.now() + wait);
    }
    return { status: response.status, headers, body };
  }
}
