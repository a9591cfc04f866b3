import type { ThrottlingOptions } from "@octokit/plugin-throttling";
import { type Credential, DeliveryError, PullkeeperError, UpstreamError } from "@pullkeeper/core";
import { githubDeliveryError, githubFailure, isStaleKeyError, throttlePauseMs } from "./errors.js";
import { GITHUB_API_URL } from "./schema.js";
import { sealSecret } from "./sealed-box.js";

/** Octokit with its retry and throttling plugins, loaded on first use: functions that never reach GitHub never load it. */
async function loadGitHub() {
  const [{ Octokit }, { retry }, { throttling }] = await Promise.all([import("@octokit/rest"), import("@octokit/plugin-retry"), import("@octokit/plugin-throttling")]);
  return Octokit.plugin(retry, throttling);
}
let gitHub: ReturnType<typeof loadGitHub> | undefined;
type GitHubOctokit = InstanceType<Awaited<ReturnType<typeof loadGitHub>>>;

export interface GitHubClientOptions {
  /** Reads a secret holding the GitHub token as `{"username":"x-access-token","password":"<token>"}`. */
  readonly readCredential: (secretId: string) => Promise<Credential>;
  /** How long a token read from its secret is reused. Default 5 minutes. */
  readonly tokenTtlMs?: number;
  /** How long a scope's public key is reused. Default 5 minutes. */
  readonly publicKeyTtlMs?: number;
  /**
   * Least gap between two writes through one API root, in this process. Default 0: the engine's
   * shared rate limiter paces writes across every worker (it counts each secret of a delivery),
   * and the writes of one delivery go out back to back, so a consumer never holds a new user
   * with an old password longer than the requests take.
   */
  readonly writeSpacingMs?: number;
  /** Internal retries of a 5xx or network failure, and the base of their quadratic backoff. Default 2 and 250 ms. */
  readonly retries?: number;
  readonly retryBaseMs?: number;
  /** Per request. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** For tests: another fetch, another clock. */
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => number;
}

/** Where a family of secrets lives: the public-key route and the secret route, with their path parameters. */
export interface SecretLocation {
  /** e.g. `/repos/{owner}/{repo}/codespaces/secrets` */
  readonly collection: string;
  readonly params: Readonly<Record<string, string>>;
  /** Body fields besides encrypted_value and key_id: visibility, selected_repository_ids. */
  readonly extraBody: Readonly<Record<string, unknown>>;
  /** For people: "repo acme/web", "org acme (visibility private)". */
  readonly description: string;
}

export interface SecretWrite {
  readonly name: string;
  readonly value: string;
}

/** The engine's provider gate for one delivery (DeliveryContext.beforeWrite / pause). */
export interface WriteGate {
  readonly beforeWrite?: (() => Promise<void>) | undefined;
  readonly pause?: ((retryAfterMs: number) => Promise<void>) | undefined;
}

/**
 * Thrown from our fetch when the gate holds a request back. Named AbortError so that Octokit
 * passes it through as it is (it wraps other fetch errors into a retryable 500) and its retry
 * plugin does not retry it; writeSecrets unwraps the DeliveryError.
 */
class HeldBack extends Error {
  override readonly name = "AbortError";
  constructor(readonly reason: DeliveryError) {
    super(reason.message);
  }
}

interface PublicKey {
  readonly keyId: string;
  readonly key: string;
  readonly fetchedAt: number;
}

interface CachedToken {
  readonly token: string;
  readonly readAt: number;
}

/** Fills `{name}` placeholders, percent-encoding each value. */
export function expandPath(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing path parameter ${name} for ${template}`);
    return encodeURIComponent(value);
  });
}

/**
 * The throttling plugin's write limiter (a Bottleneck group, one limiter per API root): writes
 * one at a time, at least `gapMs` apart between their starts; none at all with 0 (the engine's
 * rate limiter and gate already pace deliveries; tests turn the spacing on).
 */
async function writeLimiter(gapMs: number): Promise<NonNullable<ThrottlingOptions["write"]>> {
  const { default: Bottleneck } = await import("bottleneck");
  return new Bottleneck.Group(gapMs > 0 ? { maxConcurrent: 1, minTime: gapMs } : {}) as unknown as NonNullable<ThrottlingOptions["write"]>;
}

/** Octokit's logger, silenced: its debug line carries the request (headers, body). Failures surface as DeliveryErrors instead. */
const SILENT = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The GitHub client the GitHub targets share: one Octokit per API root (throttling + retry
 * plugins), tokens read from their secrets and kept briefly, and public keys cached per scope.
 *
 * Rate limits are never waited out inside Octokit: a primary or secondary limit becomes a
 * `throttled` DeliveryError with GitHub's Retry-After so the engine pauses every worker on
 * the provider. 5xx and network failures get a couple of short internal retries.
 *
 * A delivery's requests (the public key, each PUT, and each internal retry of them) go through
 * the engine's gate: before each one the provider's pause is checked, and an answer that says
 * "not before" (429, a secondary or primary limit, a Retry-After on any error) pauses every
 * worker the moment it arrives — before Octokit has even turned it into an error — so neither a
 * concurrent delivery nor the retry plugin writes through the window.
 */
export class GitHubSecretsClient {
  readonly #options: GitHubClientOptions;
  readonly #now: () => number;
  /** One client per API root, as a promise so concurrent first calls share it (and its write spacing). */
  readonly #clients = new Map<string, Promise<GitHubOctokit>>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #keys = new Map<string, PublicKey>();

  constructor(options: GitHubClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Writes each secret, sealed with the scope's public key, back to back; refetches the key once
   * if GitHub says it is stale. A pause in the middle stops the rest (the engine retries the
   * whole delivery later: the writes are idempotent).
   */
  async writeSecrets(baseUrl: string | undefined, tokenSecret: string, location: SecretLocation, writes: readonly SecretWrite[], gate: WriteGate = {}): Promise<void> {
    const root = baseUrl ?? GITHUB_API_URL;
    const token = await this.#token(tokenSecret);
    const secrets = [token, ...writes.map((w) => w.value)];
    const octokit = await this.#client(root);
    const headers = { authorization: `Bearer ${token}` };
    const keyPath = `${expandPath(location.collection, location.params)}/public-key`;
    const keyCacheKey = `${root}${keyPath}`;
    const written: string[] = [];
    const gated = this.#gatedRequest(gate);

    const fail = async (error: unknown, step: string): Promise<never> => {
      // The pause an answer asked for is in place before this delivery's error goes anywhere.
      await gated.paused();
      if (error instanceof HeldBack) throw error.reason;
      if (githubFailure(error).status === 401) this.#tokens.delete(tokenSecret);
      const done = written.length > 0 ? ` (already wrote ${written.join(", ")})` : "";
      const e = githubDeliveryError(error, `${step} ${location.description}${done}`, secrets, this.#now());
      throw e;
    };

    const publicKey = async (fresh: boolean): Promise<PublicKey> => {
      const cached = this.#keys.get(keyCacheKey);
      if (!fresh && cached !== undefined && this.#now() - cached.fetchedAt < (this.#options.publicKeyTtlMs ?? 300_000)) return cached;
      this.#keys.delete(keyCacheKey);
      let data: unknown;
      try {
        ({ data } = await octokit.request(`GET ${location.collection}/public-key`, { ...location.params, headers, request: gated.options() }));
      } catch (error) {
        return fail(error, "fetching the public key for");
      }
      const { key_id: keyId, key } = (data ?? {}) as { key_id?: unknown; key?: unknown };
      if (typeof keyId !== "string" || typeof key !== "string" || keyId === "" || key === "") {
        throw new DeliveryError("invalid_response", `fetching the public key for ${location.description}: GitHub's answer has no key_id and key`, { retryable: true });
      }
      const entry = { keyId, key, fetchedAt: this.#now() };
      this.#keys.set(keyCacheKey, entry);
      return entry;
    };

    let key = await publicKey(false);
    let refetched = false;
    for (const write of writes) {
      for (;;) {
        const sealed = await sealSecret(write.value, key.key, location.description);
        try {
          await octokit.request(`PUT ${location.collection}/{secret_name}`, {
            ...location.params,
            secret_name: write.name,
            encrypted_value: sealed,
            key_id: key.keyId,
            ...location.extraBody,
            headers,
            request: gated.options(),
          });
          written.push(write.name);
          break;
        } catch (error) {
          if (!refetched && isStaleKeyError(githubFailure(error))) {
            refetched = true;
            key = await publicKey(true);
            continue;
          }
          await fail(error, `writing ${write.name} in`);
        }
      }
    }
  }

  /**
   * A paginated list, page by page (Octokit's Link-header pagination, 100 a page), read with the
   * token of `tokenSecret`; the caller may stop early. A failure is a classified DeliveryError
   * whose message starts with `what`.
   */
  async *pages<T>(baseUrl: string | undefined, tokenSecret: string, route: string, params: Readonly<Record<string, unknown>>, what: string): AsyncGenerator<readonly T[], void, undefined> {
    const token = await this.#token(tokenSecret);
    const octokit = await this.#client(baseUrl ?? GITHUB_API_URL);
    const pages = octokit.paginate.iterator<T>(route, { ...params, per_page: 100, headers: { authorization: `Bearer ${token}` } })[Symbol.asyncIterator]();
    for (;;) {
      let page: IteratorResult<{ data: T[] }>;
      try {
        page = await pages.next();
      } catch (error) {
        throw this.#failure(error, what, tokenSecret, [token]);
      }
      if (page.done === true) return;
      yield page.value.data;
    }
  }

  /** One request with the token of `tokenSecret`: its response body, or a classified DeliveryError whose message starts with `what`. */
  async call<T>(baseUrl: string | undefined, tokenSecret: string, route: string, params: Readonly<Record<string, unknown>>, what: string): Promise<T> {
    const token = await this.#token(tokenSecret);
    const octokit = await this.#client(baseUrl ?? GITHUB_API_URL);
    try {
      const { data } = await octokit.request(route, { ...params, headers: { authorization: `Bearer ${token}` }, request: this.#requestOptions() });
      return data as T;
    } catch (error) {
      throw this.#failure(error, what, tokenSecret, [token]);
    }
  }

  #failure(error: unknown, what: string, tokenSecret: string, secrets: readonly string[]): DeliveryError {
    // A revoked token is read again next time instead of failing until the cache expires.
    if (githubFailure(error).status === 401) this.#tokens.delete(tokenSecret);
    return githubDeliveryError(error, what, secrets, this.#now());
  }

  /** Forgets cached tokens and keys (a rotated token, tests). */
  clear(): void {
    this.#tokens.clear();
    this.#keys.clear();
  }

  #requestOptions(): { signal: AbortSignal } {
    return { signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 30_000) };
  }

  /** Our fetch (a test double on globalThis still applies), with the per-request timeout when the request has no signal. */
  #fetch(url: string, init: RequestInit = {}): Promise<Response> {
    return (this.#options.fetch ?? globalThis.fetch)(url, init.signal ? init : { ...init, signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 30_000) });
  }

  /**
   * Request options whose fetch asks the gate before every request, Octokit's internal retries
   * included, and pauses the provider as soon as an answer says "not before". `paused()` waits
   * for those pauses to be in place.
   */
  #gatedRequest(gate: WriteGate): { options(): { signal: AbortSignal; fetch: typeof globalThis.fetch }; paused(): Promise<void> } {
    const pauses: Promise<void>[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (gate.beforeWrite) {
        try {
          await gate.beforeWrite();
        } catch (error) {
          if (error instanceof DeliveryError) throw new HeldBack(error);
          throw error;
        }
      }
      const response = await this.#fetch(String(input instanceof Request ? input.url : input), init);
      const pauseMs = gate.pause && throttlePauseMs(response.status, response.headers, this.#now());
      if (pauseMs !== undefined && gate.pause) pauses.push(gate.pause(pauseMs).catch(() => undefined));
      return response;
    };
    return {
      options: () => ({ ...this.#requestOptions(), fetch: fetch as typeof globalThis.fetch }),
      paused: async () => void (await Promise.all(pauses)),
    };
  }

  async #token(tokenSecret: string): Promise<string> {
    const cached = this.#tokens.get(tokenSecret);
    if (cached !== undefined && this.#now() - cached.readAt < (this.#options.tokenTtlMs ?? 300_000)) return cached.token;
    let credential: Credential;
    try {
      credential = await this.#options.readCredential(tokenSecret);
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      const retryable = error instanceof UpstreamError ? error.retryable : !(error instanceof PullkeeperError);
      const code = error instanceof PullkeeperError ? error.code : "token_unavailable";
      const reason = error instanceof PullkeeperError ? error.message : "could not be read";
      throw new DeliveryError(code, `GitHub token secret ${tokenSecret}: ${reason}`, { retryable });
    }
    const token = credential.password.reveal();
    this.#tokens.set(tokenSecret, { token, readAt: this.#now() });
    return token;
  }

  #client(root: string): Promise<GitHubOctokit> {
    let client = this.#clients.get(root);
    if (client === undefined) {
      client = this.#newClient(root);
      this.#clients.set(root, client);
    }
    return client;
  }

  async #newClient(root: string): Promise<GitHubOctokit> {
    const GitHub = await (gitHub ??= loadGitHub());
    const o = this.#options;
    // Octokit's paginator sends only method, url and headers for the pages after the first, so
    // a request without its own signal gets the per-request timeout here. The fetch is looked up
    // per call so a test double installed on globalThis still applies.
    const request: Record<string, unknown> = { fetch: (url: string, init?: RequestInit) => this.#fetch(url, init) };
    return new GitHub({
      baseUrl: root,
      userAgent: "pullkeeper",
      log: SILENT,
      request,
      // Never sleep inside Octokit on a rate limit: the DeliveryError carries Retry-After to the engine.
      throttle: {
        onRateLimit: () => false,
        onSecondaryRateLimit: () => false,
        write: await writeLimiter(o.writeSpacingMs ?? 0),
      } as ThrottlingOptions,
      // 429 is a rate limit (handled above), not something to retry here.
      retry: { retries: o.retries ?? 2, retryAfterBaseValue: o.retryBaseMs ?? 250, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
    });
  }
}
