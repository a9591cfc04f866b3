import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import { type AwsSubject, parseAwsSubject } from "./fake-google-subject.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { expectClean, FailureScript, jsonSender, parseBody, type ScriptedOutcome, type Send, useProviderFake } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";

/**
 * A local stand-in for Google's workload identity federation from AWS, both APIs on one server:
 * STS's token exchange (`POST /v1/token`) and IAM Credentials' `generateAccessToken`, checked
 * request by request against their discovery documents as extracted into
 * test/fixtures/provider-specs/google.json.
 *
 * - STS takes the JSON body the description has (camelCase) or the RFC 8693 form Google's client
 *   libraries send (snake_case, mapped to the description's names before the check). The subject
 *   token must parse as a SigV4-signed GetCallerIdentity request bound to the request's audience
 *   (fake-google-subject.ts: the shape only, the signature cannot be checked here). An audience
 *   other than `provider` → 400 invalid_target; a malformed subject token → 400 invalid_grant; an
 *   access key id outside `trustedKeys` (when set) → 400 unauthorized_client, as an attribute
 *   condition refusing the caller would. (The error names follow RFC 8693/6749; that Google uses
 *   exactly these for these cases is an assumption.) A federated token lives `federatedLifetime` s.
 * - generateAccessToken needs a live federated token as Bearer (401 UNAUTHENTICATED otherwise) and
 *   a service account in `serviceAccounts` (403 PERMISSION_DENIED otherwise, as Google answers both
 *   a missing roles/iam.workloadIdentityUser and an unknown account); `lifetime` at most
 *   `maxLifetime` (400 INVALID_ARGUMENT). Each access token is a shared login `oauth2accesstoken`
 *   of the CredentialRegistry (`installShared`), removed once the fake's clock (`tick`) passes its
 *   expiry, before tick resolves.
 * - A request the description refuses is answered 400 and recorded in `violations`; the stand-in's
 *   own success answers are checked against the response schemas too.
 * - `failNext()` scripts failures: a status with headers and body, a reset connection, a hang.
 * - No token value appears in `requests`, `violations` or any message.
 */

export type { RequestMatch, ScriptedOutcome as ScriptedFailure } from "./provider-fake.js";

export const GOOGLE_LOGIN = "oauth2accesstoken";
const STS = "POST /v1/token";
const FORM_NAMES: Readonly<Record<string, string>> = { grant_type: "grantType", requested_token_type: "requestedTokenType", subject_token: "subjectToken", subject_token_type: "subjectTokenType" };

export interface GoogleRequest {
  readonly method: string;
  readonly path: string;
  readonly operation: string | undefined;
  /** STS: the subject the token named (never the token). */
  subject?: AwsSubject;
  readonly at: number;
  status: number;
}

/** A minted service account access token, without its value. */
export interface GoogleToken {
  readonly serviceAccount: string;
  readonly scope: readonly string[];
  readonly expiresAtMs: number;
  live: boolean;
}

export class FakeGoogle {
  readonly requests: GoogleRequest[] = [];
  readonly violations: string[] = [];
  readonly tokens: GoogleToken[] = [];
  /** The workload identity pool provider STS accepts as audience. */
  provider: string;
  /** The service accounts federated principals may impersonate. */
  readonly serviceAccounts: Set<string>;
  /** AWS access key ids the pool trusts (every one when undefined). */
  trustedKeys: Set<string> | undefined;
  federatedLifetime = 3600;
  maxLifetime = 3600;
  readonly #values = new Map<GoogleToken, string>();
  readonly #federated = new Map<string, number>();
  readonly #script = new FailureScript<ScriptedOutcome>();
  readonly #spec = loadProviderSpec("google");
  #now: number;
  #server: LocalServer | undefined;

  constructor(
    readonly registry: CredentialRegistry,
    options: { provider: string; serviceAccounts: readonly string[]; now?: number },
  ) {
    this.provider = options.provider;
    this.serviceAccounts = new Set(options.serviceAccounts);
    this.#now = options.now ?? Date.now();
  }

  static async start(registry: CredentialRegistry, options: { provider: string; serviceAccounts: readonly string[]; now?: number }): Promise<FakeGoogle> {
    const fake = new FakeGoogle(registry, options);
    fake.#server = await startServer((req, res) => fake.#handle(req, res));
    return fake;
  }

  /** http://127.0.0.1:<port>: the base URL of both STS and IAM Credentials. */
  get url(): string {
    if (this.#server === undefined) throw new Error("FakeGoogle: not started");
    return this.#server.url;
  }

  get now(): number {
    return this.#now;
  }

  get pending(): number {
    return this.#script.pending;
  }

  /** Sets the clock; every access token whose expiry has come stops opening the registry before this resolves. */
  async tick(now: number | Date): Promise<void> {
    this.#now = typeof now === "number" ? now : now.getTime();
    for (const token of this.tokens) {
      if (!token.live || token.expiresAtMs > this.#now) continue;
      token.live = false;
      await this.registry.removeShared(GOOGLE_LOGIN, this.#values.get(token) ?? "");
    }
  }

  failNext(...failures: ScriptedOutcome[]): void {
    this.#script.push(...failures);
  }

  takeViolations(): string[] {
    return this.violations.splice(0);
  }

  resetScript(): void {
    this.#script.clear();
    this.#script.cutHung();
  }

  async close(): Promise<void> {
    this.resetScript();
    await this.#server?.close();
  }

  async #handle(req: Received, res: ServerResponse): Promise<void> {
    const url = new URL(req.url, "http://fake.google");
    const record: GoogleRequest = { method: req.method, path: url.pathname, operation: undefined, at: Date.now(), status: 0 };
    this.requests.push(record);
    const send = jsonSender(res, record);
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    const form = contentType === "application/x-www-form-urlencoded" && url.pathname === "/v1/token";
    const body = form ? mapForm(new URLSearchParams(req.body)) : parseBody(req);
    // A form has no content type in the description: checked by its mapped fields only.
    const headers = form ? { ...req.headers, "content-type": "application/json" } : req.headers;
    const checked = this.#spec.check(req.method, url.pathname, url.searchParams, body, headers);
    (record as { operation: string | undefined }).operation = checked.operation;
    if (typeof body === "string") checked.violations.push(`${checked.operation ?? `${req.method} ${url.pathname}`}: body is not JSON`);
    this.violations.push(...checked.violations);

    if (this.#script.play({ method: req.method, path: url.pathname }, res, record, send)) return;
    if (checked.operation === undefined) return send(404, googleError(404, "NOT_FOUND", "not found"));
    if (checked.violations.length > 0) {
      return checked.operation === STS ? send(400, { error: "invalid_request", error_description: checked.violations.join("; ") }) : send(400, googleError(400, "INVALID_ARGUMENT", checked.violations.join("; ")));
    }
    const answer = (value: unknown): void => {
      this.violations.push(...this.#spec.checkResponse(checked.operation ?? "", 200, value).map((v) => `stand-in answer: ${v}`));
      send(200, value);
    };
    if (checked.operation === STS) return this.#exchange(body as Record<string, string>, record, send, answer);
    const serviceAccount = this.#spec.match(req.method, url.pathname)?.pathValues.serviceAccountsId ?? "";
    return this.#generate(req, serviceAccount, body as { scope: string[]; lifetime?: string }, send, answer);
  }

  #exchange(b: Record<string, string>, record: GoogleRequest, send: Send, answer: (value: unknown) => void): void {
    const oauth = (error: string, description: string) => send(400, { error, error_description: description });
    if (b.grantType !== "urn:ietf:params:oauth:grant-type:token-exchange") return oauth("unsupported_grant_type", "grantType must be token exchange");
    if (b.subjectTokenType !== "urn:ietf:params:aws:token-type:aws4_request") return oauth("invalid_request", "subjectTokenType is not the AWS one");
    if (b.requestedTokenType !== "urn:ietf:params:oauth:token-type:access_token") return oauth("invalid_request", "requestedTokenType must be access_token");
    if (b.audience !== this.provider) return oauth("invalid_target", "the audience is not a known workload identity pool provider");
    const subject = parseAwsSubject(b.subjectToken ?? "");
    if ("problem" in subject) return oauth("invalid_grant", `the subject token: ${subject.problem}`);
    record.subject = subject;
    if (subject.targetResource !== b.audience) return oauth("invalid_grant", "the subject token is bound to another provider");
    if (this.trustedKeys !== undefined && !this.trustedKeys.has(subject.accessKeyId)) return oauth("unauthorized_client", "the given credential is rejected by the attribute condition");
    const federated = `ya29.fed-${randomBytes(24).toString("base64url")}`;
    this.#federated.set(federated, this.#now + this.federatedLifetime * 1000);
    answer({ access_token: federated, issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: this.federatedLifetime });
  }

  async #generate(req: Received, serviceAccount: string, b: { scope: string[]; lifetime?: string }, send: Send, answer: (value: unknown) => void): Promise<void> {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    const until = bearer === undefined ? undefined : this.#federated.get(bearer);
    if (until === undefined || until <= this.#now) return send(401, googleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."));
    if (!this.serviceAccounts.has(serviceAccount)) return send(403, googleError(403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."));
    const lifetime = b.lifetime === undefined ? 3600 : Number(b.lifetime.replace(/s$/, ""));
    if (!(lifetime > 0 && lifetime <= this.maxLifetime)) return send(400, googleError(400, "INVALID_ARGUMENT", `lifetime must be at most ${this.maxLifetime}s`));
    const token: GoogleToken = { serviceAccount, scope: [...b.scope], expiresAtMs: this.#now + Math.round(lifetime * 1000), live: true };
    const value = `ya29.${randomBytes(32).toString("base64url")}`;
    this.tokens.push(token);
    this.#values.set(token, value);
    await this.registry.installShared(GOOGLE_LOGIN, value);
    answer({ accessToken: value, expireTime: new Date(token.expiresAtMs).toISOString() });
  }
}

function googleError(code: number, status: string, message: string) {
  return { error: { code, message, status } };
}

/** RFC 8693's form fields under the description's names. */
function mapForm(form: URLSearchParams): Record<string, string> {
  return Object.fromEntries([...form.entries()].map(([k, v]) => [FORM_NAMES[k] ?? k, v]));
}

/** What useFakeGoogle sets up for a test file. */
export interface FakeGoogleWorld {
  readonly google: FakeGoogle;
  readonly registry: CredentialRegistry;
  readonly provider: string;
  readonly serviceAccount: string;
}

export const TEST_PROVIDER = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-prod";
export const TEST_SERVICE_ACCOUNT = "puller@acme-prod.iam.gserviceaccount.com";

/** Hooks: a credential registry and a FakeGoogle in front of it for the file; after each test, no violation and no unused scripted failure. */
export function useFakeGoogle(): FakeGoogleWorld {
  return useProviderFake(
    "useFakeGoogle",
    async (registry) => {
      const google = await FakeGoogle.start(registry, { provider: TEST_PROVIDER, serviceAccounts: [TEST_SERVICE_ACCOUNT] });
      return { fake: google, world: { google, registry, provider: TEST_PROVIDER, serviceAccount: TEST_SERVICE_ACCOUNT } };
    },
    {
      stop: (google) => google.close(),
      after: (google) => {
        google.resetScript();
        expectClean(google);
      },
    },
  );
}
