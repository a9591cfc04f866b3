import type { ServerResponse } from "node:http";
import { openApiPaths, validateRequest } from "./github-openapi.js";
import { SealedBoxKeys } from "./github-sealed-box.js";
import { type LocalServer, type Received, startServer } from "./http.js";

export { CODESPACES_FIXTURE, type CodespaceOptions, codespacePayload } from "./github-codespaces.js";
export { openApiPaths, validateRequest } from "./github-openapi.js";

/**
 * A local stand-in for the parts of GitHub's REST API the secret targets use: public keys and
 * secret writes for Codespaces (user, repo, org), Actions (repo, environment, org) and
 * Dependabot (repo, org).
 *
 * - Holds a real libsodium key pair per scope and opens every sealed `encrypted_value`, so tests
 *   assert on the plaintext GitHub would store.
 * - Checks the bearer token; answers 401 "Bad credentials" otherwise.
 * - Validates each request against GitHub's published OpenAPI description (@octokit/openapi):
 *   the operation exists for method + path, required path parameters are set, the body has the
 *   required properties with the declared types, enums and patterns, and nothing undeclared.
 * - Answers scripted failures (secondary rate limit, 429, 401, 500…) at chosen moments
 *   (`rateLimitPuts` answers chosen PUTs with 429 and a Retry-After), after `latencyMs`.
 * - Lists codespaces (user, repository, organization) in pages with GitHub's Link header, reads
 *   one, and stops one (user and organization-member endpoints); query parameters must be ones
 *   the OpenAPI description declares for the operation.
 *
 * The pieces: OpenAPI checks in github-openapi.ts, key pairs in github-sealed-box.ts, codespace
 * payloads in github-codespaces.ts (re-exported here).
 */

export interface ScriptedResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Only requests this matches consume the response; default every request. */
  readonly match?: (request: { method: string; path: string }) => boolean;
}

export interface GitHubRequest {
  readonly method: string;
  /** Path without the API root's base path and without the query. */
  readonly path: string;
  readonly headers: Received["headers"];
  /** The query string, parsed. */
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** The operation the OpenAPI description has for it, e.g. "PUT /repos/{owner}/{repo}/codespaces/secrets/{secret_name}". */
  readonly operation: string | undefined;
  /** When it arrived (Date.now()). */
  readonly at: number;
  status: number;
  /** When the answer went out (Date.now()); 0 until then. */
  answeredAt: number;
}

export interface StoredSecret {
  /** The decrypted value. */
  readonly value: string;
  readonly keyId: string;
  /** The request body as sent (encrypted_value, key_id, visibility, selected_repository_ids). */
  readonly body: Readonly<Record<string, unknown>>;
}


export const SECONDARY_RATE_LIMIT_MESSAGE =
  "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0400:2B31:3AD1A4:79F4B8:67F0F0A1.";

/** GitHub's answer when the secondary limit is hit. */
export function secondaryRateLimit(retryAfterSeconds?: number, status = 403): ScriptedResponse {
  return {
    status,
    headers: retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) },
    body: { message: SECONDARY_RATE_LIMIT_MESSAGE, documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits", status: String(status) },
  };
}
// ---- the server ---------------------------------------------------------------------------

export class FakeGitHub {
  /** Every request, in order, with the status it got. */
  readonly requests: GitHubRequest[] = [];
  /** OpenAPI departures, one line each; a correct client leaves this empty. */
  readonly violations: string[] = [];
  /** Secrets as GitHub would hold them, by full path (e.g. /repos/acme/web/codespaces/secrets/FOO). */
  readonly secrets = new Map<string, StoredSecret>();
  /** The token GitHub accepts. */
  token: string;
  /** The login of the token's user: `/user/codespaces` lists (and stops) this user's codespaces. */
  user = "octocat";
  /** Codespaces as GitHub holds them (full payloads, as served). */
  readonly codespaces: Record<string, unknown>[] = [];
  /** Largest page served whatever per_page asks (GitHub's is 100); lower it to force pages. */
  maxPerPage = 100;
  /** How long every answer takes, like a real API's latency (the request is recorded on arrival). */
  latencyMs = 0;
  readonly #script: ScriptedResponse[] = [];
  #putCount = 0;
  #throttledPuts = new Set<number>();
  #retryAfterSeconds = 0;
  readonly #keys = new SealedBoxKeys();
  #server: LocalServer | undefined;
  readonly #basePath: string;

  private constructor(token: string, basePath: string) {
    this.token = token;
    this.#basePath = basePath;
  }

  /** `basePath` "/api/v3" makes it look like GitHub Enterprise Server. */
  static async start(options: { token: string; basePath?: string }): Promise<FakeGitHub> {
    await SealedBoxKeys.ready();
    await openApiPaths();
    const fake = new FakeGitHub(options.token, options.basePath ?? "");
    fake.#server = await startServer((req, res) => fake.#handle(req, res));
    return fake;
  }

  /** The API root to configure as baseUrl. */
  get url(): string {
    if (this.#server === undefined) throw new Error("not started");
    return `${this.#server.url}${this.#basePath}`;
  }

  /** Answers the next matching request with `response` instead of handling it (queued in order). */
  respond(...responses: ScriptedResponse[]): void {
    this.#script.push(...responses);
  }

  /** The decrypted value of a secret, e.g. value("/repos/acme/web/codespaces/secrets", "FOO"). */
  value(collection: string, name: string): string | undefined {
    return this.secrets.get(`${collection}/${name}`)?.value;
  }

  /** Replaces a scope's key pair, as GitHub does now and then: writes sealed to the old key are refused. */
  rotateKey(collection: string): void {
    this.#keys.rotate(collection);
  }

  /**
   * Answers the `which`-th PUTs (1-based, over every PUT that arrives from now on) with 429 Too
   * Many Requests and `Retry-After: retryAfterSeconds`, as GitHub does when it throttles.
   */
  rateLimitPuts(which: readonly number[], retryAfterSeconds: number): void {
    this.#putCount = 0;
    this.#throttledPuts = new Set(which);
    this.#retryAfterSeconds = retryAfterSeconds;
  }

  /** Requests minus the public-key reads. */
  writes(): GitHubRequest[] {
    return this.requests.filter((r) => r.method === "PUT");
  }

  async close(): Promise<void> {
    await this.#server?.close();
  }

  async #handle(req: Received, res: ServerResponse): Promise<void> {
    const url = new URL(req.url, "http://fake.github");
    const send = async (status: number, body?: unknown, headers: Readonly<Record<string, string>> = {}): Promise<void> => {
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      record.status = status;
      record.answeredAt = Date.now();
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "x-github-media-type": "github.v3; format=json", ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    let body: unknown;
    if (req.body !== "") {
      try {
        body = JSON.parse(req.body);
      } catch {
        body = req.body;
      }
    }
    const path = url.pathname.startsWith(this.#basePath) ? url.pathname.slice(this.#basePath.length) : url.pathname;
    const { operation, problems } = url.pathname.startsWith(this.#basePath) ? await validateRequest(req.method, path, body, url.searchParams) : { operation: undefined, problems: [`${url.pathname}: outside the API root ${this.#basePath}`] };
    const record: GitHubRequest = { method: req.method, path, headers: req.headers, query: url.searchParams, body, operation, at: Date.now(), status: 0, answeredAt: 0 };
    this.requests.push(record);
    this.violations.push(...problems);

    if (req.method === "PUT" && this.#throttledPuts.has(++this.#putCount)) {
      return send(429, { message: "Too Many Requests", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", status: "429" }, { "retry-after": String(this.#retryAfterSeconds) });
    }
    const scripted = this.#script.findIndex((s) => s.match === undefined || s.match({ method: req.method, path }));
    if (scripted >= 0) {
      const [r] = this.#script.splice(scripted, 1);
      if (r !== undefined) return send(r.status, r.body, r.headers);
    }
    if (operation === undefined) return send(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" });

    const auth = req.headers.authorization ?? "";
    if (auth !== `Bearer ${this.token}` && auth !== `token ${this.token}`) {
      return send(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
    }

    if (operation.includes("/codespaces") && !operation.includes("/secrets")) {
      if (problems.length > 0) return send(422, { message: `Invalid request. ${problems.join("; ")}`, documentation_url: "https://docs.github.com/rest", status: "422" });
      const answer = this.#codespaces(req.method, operation, path, url.searchParams);
      if (answer !== undefined) return send(answer.status, answer.body, answer.headers);
    }

    const keyRoute = /^(.*\/secrets)\/public-key$/.exec(path);
    if (req.method === "GET" && keyRoute?.[1] !== undefined) {
      const key = this.#keys.key(keyRoute[1]);
      return send(200, { key_id: key.keyId, key: this.#keys.publicKey(key) });
    }

    const secretRoute = /^(.*\/secrets)\/([^/]+)$/.exec(path);
    if (req.method === "PUT" && secretRoute?.[1] !== undefined && secretRoute[2] !== undefined) {
      if (problems.length > 0) return send(422, { message: `Invalid request. ${problems.join("; ")}`, documentation_url: "https://docs.github.com/rest", status: "422" });
      const collection = secretRoute[1];
      const name = decodeURIComponent(secretRoute[2]);
      const b = body as { encrypted_value?: string; key_id?: string };
      const key = this.#keys.key(collection);
      if (b.key_id !== key.keyId) {
        return send(422, { message: "Bad request - the key_id does not match the current public key", documentation_url: "https://docs.github.com/rest", status: "422" });
      }
      let value: string;
      try {
        value = this.#keys.open(key, b.encrypted_value ?? "");
      } catch {
        return send(422, { message: "Bad request - could not decrypt encrypted_value", documentation_url: "https://docs.github.com/rest", status: "422" });
      }
      const existed = this.secrets.has(`${collection}/${name}`);
      this.secrets.set(`${collection}/${name}`, { value, keyId: key.keyId, body: body as Record<string, unknown> });
      return existed ? send(204) : send(201, {});
    }
    return send(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" });
  }

  /** Codespace routes; undefined for an operation it does not serve. */
  #codespaces(method: string, operation: string, path: string, query: URLSearchParams): { status: number; body?: unknown; headers?: Record<string, string> } | undefined {
    const notFound = { status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" } };
    const segments = path.split("/").map((s) => decodeURIComponent(s));
    const login = (c: Record<string, unknown>): string => String((c.owner as { login?: unknown } | undefined)?.login ?? "");
    const repo = (c: Record<string, unknown>): { id?: number; full_name?: string; owner?: { login?: string } } => (c.repository ?? {}) as never;
    const same = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
    const list = (items: Record<string, unknown>[]) => {
      const perPage = Math.min(Number(query.get("per_page") ?? 30), this.maxPerPage);
      const page = Number(query.get("page") ?? 1);
      const slice = items.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < items.length) {
        const next = new URLSearchParams(query);
        next.set("page", String(page + 1));
        headers.link = `<${this.url}${path}?${next.toString()}>; rel="next"`;
      }
      return { status: 200, body: { total_count: items.length, codespaces: slice }, headers };
    };
    switch (`${operation}`) {
      case "GET /user/codespaces": {
        const repositoryId = query.get("repository_id");
        return list(this.codespaces.filter((c) => login(c) === this.user && (repositoryId === null || String(repo(c).id) === repositoryId)));
      }
      case "GET /repos/{owner}/{repo}/codespaces":
        return list(this.codespaces.filter((c) => login(c) === this.user && same(repo(c).full_name, `${segments[2]}/${segments[3]}`)));
      case "GET /orgs/{org}/codespaces":
        return list(this.codespaces.filter((c) => same(repo(c).owner?.login, segments[2])));
      case "GET /user/codespaces/{codespace_name}": {
        const found = this.codespaces.find((c) => c.name === segments[3] && login(c) === this.user);
        return found === undefined ? notFound : { status: 200, body: found };
      }
      case "POST /user/codespaces/{codespace_name}/stop": {
        const found = this.codespaces.find((c) => c.name === segments[3] && login(c) === this.user);
        if (found === undefined) return notFound;
        found.state = "Shutdown";
        return { status: 200, body: found };
      }
      case "POST /orgs/{org}/members/{username}/codespaces/{codespace_name}/stop": {
        const found = this.codespaces.find((c) => c.name === segments[6] && login(c) === segments[4] && same(repo(c).owner?.login, segments[2]));
        if (found === undefined) return notFound;
        found.state = "Shutdown";
        return { status: 200, body: found };
      }
      default:
        return undefined;
    }
  }
}
