import {
  systemClock,
  type CanaryImage,
  type Clock,
  type RegistryVerifier,
  type Verification,
  type VerificationStatus,
  type VerifyRequest,
} from "@pullkeeper/core";
import { parseChallenges, type Challenge } from "./challenge.js";

export interface RegistryV2VerifierOptions {
  readonly fetch?: typeof fetch;
  /** Budget for one whole check: ping, token request and canary together. Default 10 s. */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
}

const DEFAULT_TIMEOUT_MS = 10_000;

// A registry only serves the manifest types the client accepts; without the index and list
// types a multi-arch canary answers 404 and would look missing.
const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

interface Outcome {
  readonly status: VerificationStatus;
  readonly detail: string;
}

/** Ends a check early. Thrown, so that the happy path reads top to bottom. */
class Verdict extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.detail);
  }
}

interface Answer {
  readonly url: URL;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/**
 * Proves a credential against a registry's HTTP API v2: `GET /v2/`, following its Basic or
 * Bearer challenge, then `HEAD` on the canary image's manifest when one is configured.
 */
export class RegistryV2Verifier implements RegistryVerifier {
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #clock: Clock;

  constructor(options: RegistryV2VerifierOptions = {}) {
    // Looked up per call rather than captured, so test doubles installed on globalThis apply.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#clock = options.clock ?? systemClock;
  }

  async verify(request: VerifyRequest): Promise<Verification> {
    const check = new Check(request, this.#fetch, this.#timeoutMs);
    const outcome = await check.run();
    return { status: outcome.status, detail: check.redact(outcome.detail), checkedAt: this.#clock.now() };
  }
}

class Check {
  readonly #request: VerifyRequest;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal;
  /** Where the API lives: the request's endpoint, or the host itself. No trailing slash. */
  readonly #base: string;
  /** How details name the registry: by its host, and by the endpoint too when one is used. */
  readonly #name: string;
  /** Everything secret this check put on the wire, so none of it can come back in a detail. */
  readonly #sent = new Set<string>();

  constructor(request: VerifyRequest, fetchFn: typeof fetch, timeoutMs: number) {
    this.#request = request;
    this.#fetch = fetchFn;
    this.#timeoutMs = timeoutMs;
    this.#signal = AbortSignal.timeout(timeoutMs);
    this.#base = request.endpoint?.replace(/\/+$/, "") ?? `https://${request.host}`;
    this.#name = request.endpoint === undefined ? request.host : `${request.host} (via ${this.#base})`;
  }

  async run(): Promise<Outcome> {
    try {
      return await this.#steps();
    } catch (error) {
      if (error instanceof Verdict) return error.outcome;
      throw error;
    }
  }

  redact(detail: string): string {
    let safe = detail;
    for (const secret of this.#sent) safe = safe.split(secret).join("[REDACTED]");
    return safe;
  }

  async #steps(): Promise<Outcome> {
    const { canary } = this.#request;
    const host = this.#name;
    const ping = await this.#send(this.#url("/v2/"));
    let authorization: string | undefined;
    let access: string;

    if (isSuccess(ping.status)) {
      access = "answers /v2/ without authentication (the registry is open)";
    } else if (ping.status === 401) {
      const challenge = pickChallenge(ping);
      const scheme = challenge.scheme === "basic" ? "Basic" : "Bearer";
      authorization = challenge.scheme === "basic" ? this.#basic() : await this.#bearer(challenge, ping.url);
      const retry = await this.#send(ping.url, { authorization });
      if (!isSuccess(retry.status)) throw new Verdict(classify(retry, `GET /v2/ on ${host} with ${scheme} auth`));
      access = `accepted the credential (${scheme} auth)`;
    } else {
      throw new Verdict(classify(ping, `GET /v2/ on ${host}`));
    }

    if (canary === undefined) return { status: "ok", detail: `${host} ${access}` };

    const image = imageName(canary);
    const manifest = this.#url(`/v2/${canary.repository}/manifests/${canary.reference}`);
    const head = await this.#send(manifest, { method: "HEAD", authorization, accept: MANIFEST_ACCEPT });
    if (head.status === 404) {
      return { status: "unreachable", detail: `${host} ${access}, but the canary image ${image} was not found (HTTP 404)` };
    }
    if (!isSuccess(head.status)) throw new Verdict(classify(head, `HEAD on canary image ${image} on ${host}`));
    return { status: "ok", detail: `${host} ${access}; canary image ${image} found` };
  }

  /** Docker's token protocol: trade the login for a short-lived token at the challenge's realm. */
  async #bearer(challenge: Challenge, registryUrl: URL): Promise<string> {
    const { canary, credential } = this.#request;
    const host = this.#name;
    const realm = parseUrl(challenge.params.realm);
    if (realm === undefined) {
      throw new Verdict({ status: "unreachable", detail: `${host} sent a Bearer challenge without a usable realm` });
    }
    // The realm comes from the registry's answer; do not let it downgrade the login to plain HTTP.
    if (realm.protocol !== "https:" && registryUrl.protocol === "https:") {
      throw new Verdict({
        status: "unreachable",
        detail: `${host} points its token realm at ${realm.origin}, which is not HTTPS; the credential was not sent`,
      });
    }
    if (challenge.params.service !== undefined) realm.searchParams.set("service", challenge.params.service);
    const scopes = new Set([challenge.params.scope, canary && `repository:${canary.repository}:pull`]);
    for (const scope of scopes) if (scope) realm.searchParams.append("scope", scope);
    realm.searchParams.set("account", credential.username);

    const where = `token request to ${realm.origin}${realm.pathname}`;
    const answer = await this.#send(realm, { authorization: this.#basic() });
    if (!isSuccess(answer.status)) throw new Verdict(classify(answer, where));
    const token = tokenFrom(answer.body);
    if (token === undefined) {
      throw new Verdict({ status: "unreachable", detail: `${where} answered HTTP ${answer.status} without a token` });
    }
    this.#sent.add(token);
    return `Bearer ${token}`;
  }

  #url(path: string): URL {
    const url = parseUrl(`${this.#base}${path}`);
    if (url === undefined) throw new Verdict({ status: "unreachable", detail: `${this.#name} has no usable endpoint URL` });
    return url;
  }

  #basic(): string {
    const { username, password } = this.#request.credential;
    const encoded = Buffer.from(`${username}:${password.reveal()}`).toString("base64");
    this.#sent.add(encoded);
    return `Basic ${encoded}`;
  }

  /** One exchange, body read in full; a network failure or timeout ends the check as unreachable. */
  async #send(url: URL, options: { method?: string; authorization?: string | undefined; accept?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (options.authorization !== undefined) headers.authorization = options.authorization;
    if (options.accept !== undefined) headers.accept = options.accept;
    try {
      const response = await this.#fetch(url, { method: options.method ?? "GET", headers, signal: this.#signal });
      return { url, status: response.status, headers: response.headers, body: await response.text() };
    } catch (error) {
      throw new Verdict({ status: "unreachable", detail: describeFailure(error, url, this.#timeoutMs) });
    }
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function pickChallenge(answer: Answer): Challenge {
  const header = answer.headers.get("www-authenticate") ?? "";
  const challenges = parseChallenges(header);
  const usable = challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
  if (usable !== undefined) return usable;
  const offered = challenges.length === 0 ? "no challenge" : `only ${challenges.map((c) => c.scheme).join(", ")}`;
  throw new Verdict({
    status: "unreachable",
    detail: `GET /v2/ on ${answer.url.host} answered HTTP 401 with ${offered}; pullkeeper supports Basic and Bearer`,
  });
}

/**
 * Maps a failed answer onto a verification status. ECR says an expired token with 403
 * ("Your authorization token has expired"), ECR Public with 400.
 */
function classify(answer: Answer, what: string): Outcome {
  const said = serverMessage(answer.body);
  const detail = `${what} answered HTTP ${answer.status}${said === undefined ? "" : `: ${said}`}`;
  const mentionsExpiry = /expired/i.test(answer.body);
  switch (answer.status) {
    case 401:
      return { status: "unauthorized", detail };
    case 403:
      return { status: mentionsExpiry ? "expired" : "unauthorized", detail };
    case 400:
      if (mentionsExpiry || answer.url.hostname === "public.ecr.aws") return { status: "expired", detail };
      return { status: "unreachable", detail };
    default:
      return { status: "unreachable", detail };
  }
}

/** The registry's own words: the first entry of a v2 `errors` array, or a token server's message. */
function serverMessage(body: string): string | undefined {
  let text = body.trim();
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const first: unknown = Array.isArray(doc.errors) ? doc.errors[0] : doc;
    if (typeof first === "object" && first !== null) {
      const { code, message, details, error } = first as Record<string, unknown>;
      const words = [code, message ?? details ?? error].filter((w): w is string => typeof w === "string" && w !== "");
      text = words.join(": ");
    }
  } catch {
    // Not JSON: a proxy's plain-text or HTML page; the text itself is the message.
  }
  if (text === "" || text.startsWith("<")) return undefined;
  const line = text.replace(/\s+/g, " ");
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function tokenFrom(body: string): string | undefined {
  try {
    const doc = JSON.parse(body) as { token?: unknown; access_token?: unknown };
    const token = doc.token ?? doc.access_token;
    return typeof token === "string" && token !== "" ? token : undefined;
  } catch {
    return undefined;
  }
}

function describeFailure(error: unknown, url: URL, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `${url.host} did not answer within ${timeoutMs} ms`;
  }
  // undici reports "fetch failed" and puts the reason (ECONNREFUSED, a TLS error…) in `cause`.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return `cannot reach ${url.host}: ${String(cause)}`;
  const code = (cause as { code?: unknown }).code;
  if (typeof code !== "string") return `cannot reach ${url.host}: ${cause.message || cause.name}`;
  // OpenSSL's messages run over several lines of internals; the code says the same in one word.
  const plain = !cause.message.includes("\n") && !cause.message.includes(code) && cause.message.length <= 100;
  const hint = code === "ERR_SSL_WRONG_VERSION_NUMBER" ? " (does the registry speak plain HTTP?)" : "";
  return `cannot reach ${url.host}: ${code}${plain && cause.message ? ` (${cause.message})` : ""}${hint}`;
}

function parseUrl(text: string | undefined): URL | undefined {
  try {
    return text === undefined ? undefined : new URL(text);
  } catch {
    return undefined;
  }
}

function imageName(canary: CanaryImage): string {
  return `${canary.repository}${canary.reference.includes(":") ? "@" : ":"}${canary.reference}`;
}
