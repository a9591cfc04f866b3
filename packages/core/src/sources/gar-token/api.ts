import { ProviderError, type ProviderHttp, providerFailure, type ProviderResponse } from "../../model/provider-api.js";
import type { GarTokenSource } from "./source.js";

/**
 * Google's token calls the source makes: STS's token exchange (sts.googleapis.com/v1/token) and
 * IAM Credentials' generateAccessToken, as their discovery documents describe them (JSON bodies,
 * camelCase fields; Google's client libraries send STS the RFC 8693 form instead, which it takes too).
 */

/** The limiter's bucket for Google's token APIs. */
export const GOOGLE_PROVIDER = "google-api";

export const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
export const AWS_SUBJECT_TOKEN_TYPE = "urn:ietf:params:aws:token-type:aws4_request";

/** A minted access token; `expireTime` as Google gives it. */
export interface GoogleAccessToken {
  readonly accessToken: string;
  readonly expiresAt: Date;
}

/** The error's enum name only (`invalid_grant`, `PERMISSION_DENIED`): Google's free text may quote what it was given. */
function errorName(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { error } = body as { error?: unknown };
  if (typeof error === "string") return /^[a-z_]{1,40}$/.test(error) ? error : undefined;
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === "string" && /^[A-Z_]{1,40}$/.test(status) ? status : undefined;
}

export class GoogleFederation {
  readonly #source: GarTokenSource;
  readonly #http: ProviderHttp;
  readonly #now: () => number;

  constructor(source: GarTokenSource, http: ProviderHttp, now: () => number) {
    this.#source = source;
    this.#http = http;
    this.#now = now;
  }

  /** The AWS identity (a signed GetCallerIdentity request) for a federated token of the pool. */
  async exchange(subjectToken: string): Promise<string> {
    const what = "exchange the AWS identity for a federated token (STS)";
    const response = await this.#http.request(GOOGLE_PROVIDER, {
      method: "POST",
      url: `${base(this.#source.api.sts)}/v1/token`,
      json: {
        grantType: TOKEN_EXCHANGE,
        audience: this.#source.workloadIdentityProvider,
        scope: CLOUD_PLATFORM,
        requestedTokenType: ACCESS_TOKEN_TYPE,
        subjectToken,
        subjectTokenType: AWS_SUBJECT_TOKEN_TYPE,
      },
    });
    const token = (response.body as { access_token?: unknown } | undefined)?.access_token;
    if (response.status !== 200 || typeof token !== "string" || token === "") throw this.#failure(what, response, "exchange");
    return token;
  }

  /** The service account's access token, impersonated with the federated one. */
  async generate(federated: string): Promise<GoogleAccessToken> {
    const what = `generate an access token for ${this.#source.serviceAccount} (IAM Credentials)`;
    const response = await this.#http.request(GOOGLE_PROVIDER, {
      method: "POST",
      url: `${base(this.#source.api.iamCredentials)}/v1/projects/-/serviceAccounts/${encodeURIComponent(this.#source.serviceAccount)}:generateAccessToken`,
      headers: { authorization: `Bearer ${federated}` },
      json: { scope: [CLOUD_PLATFORM], lifetime: `${this.#source.lifetime}s` },
    });
    const body = (response.body ?? {}) as { accessToken?: unknown; expireTime?: unknown };
    const expiresAt = typeof body.expireTime === "string" ? Date.parse(body.expireTime) : Number.NaN;
    if (response.status !== 200 || typeof body.accessToken !== "string" || body.accessToken === "" || Number.isNaN(expiresAt)) throw this.#failure(what, response, "generate");
    return { accessToken: body.accessToken, expiresAt: new Date(expiresAt) };
  }

  #failure(what: string, response: ProviderResponse, call: "exchange" | "generate"): ProviderError {
    const name = errorName(response.body);
    const at = `Google: ${what}: HTTP ${response.status}${name !== undefined ? ` ${name}` : ""}`;
    if (response.status === 200) return new ProviderError("provider_refused", `${at}: the answer carries no ${call === "exchange" ? "access_token" : "accessToken and expireTime"}`);
    // STS answers 400 invalid_grant/unauthorized_client/invalid_target when the pool does not trust
    // this identity (wrong audience, attribute condition, disabled provider): the setup, not a retry, fixes it.
    const refusedIdentity = call === "exchange" && response.status === 400 && name !== undefined && name !== "invalid_request";
    if (refusedIdentity || response.status === 401 || response.status === 403) {
      const fix =
        call === "exchange"
          ? "check workloadIdentityProvider and that the pool's AWS provider trusts this function's account and role"
          : "check that the federated principal has roles/iam.workloadIdentityUser (or Service Account Token Creator) on the service account";
      return new ProviderError("admin_rejected", `${at}: the federation refused this function's AWS identity; ${fix}`);
    }
    return providerFailure("Google", what, response, { nowMs: this.#now() });
  }
}

function base(url: string): string {
  return url.replace(/\/+$/, "");
}
