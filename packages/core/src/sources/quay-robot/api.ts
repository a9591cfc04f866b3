import type { Credential } from "../../model/credential.js";
import { ProviderError, type ProviderHttp, providerFailure, type ProviderResponse } from "../../model/provider-api.js";
import { type QuayRobotSource, robotLogin } from "./source.js";

/** Quay's robot-account API, the calls the source makes (test/fixtures/provider-specs/quay.json and quay-robots.md). */

/** The limiter's bucket for Quay's API. */
export const QUAY_PROVIDER = "quay-api";

type Answer = { readonly name?: unknown; readonly token?: unknown; readonly message?: unknown; readonly error_message?: unknown; readonly detail?: unknown };

function messageOf(body: unknown): string {
  if (typeof body !== "object" || body === null) return typeof body === "string" ? body : "";
  const { message, error_message: errorMessage, detail } = body as Answer;
  return [message, errorMessage, detail].filter((v): v is string => typeof v === "string").join(" ");
}

/**
 * A robot Quay does not have. Its robot endpoints answer 404 with "Could not find robot"; the
 * model's InvalidRobotException, where an endpoint lets it through, becomes a 400 with the same text.
 */
const missing = (r: ProviderResponse): boolean => r.status === 404 || (r.status === 400 && /could not find robot/i.test(messageOf(r.body)));
/** A create that lost a race to another (or to a retried step's first try): the robot is there. */
const exists = (r: ProviderResponse): boolean => r.status === 400 && /existing robot/i.test(messageOf(r.body));

/** The calls on the source's two robots, as the admin OAuth token (Bearer) in `admin`. */
export class QuayApi {
  readonly #source: QuayRobotSource;
  readonly #http: ProviderHttp;
  readonly #admin: Credential;
  readonly #now: () => number;
  readonly #robots: string;

  constructor(source: QuayRobotSource, http: ProviderHttp, admin: Credential, now: () => number) {
    this.#source = source;
    this.#http = http;
    this.#admin = admin;
    this.#now = now;
    const base = `${source.api.replace(/\/+$/, "")}/api/v1`;
    this.#robots = source.organization !== undefined ? `${base}/organization/${encodeURIComponent(source.organization)}/robots` : `${base}/user/robots`;
  }

  /**
   * `POST …/robots/{shortname}/regenerate`: the robot's new token (its old one stops working at
   * once); undefined when the robot does not exist. Quay answers 200; its description says 201.
   */
  async regenerate(shortname: string): Promise<string | undefined> {
    const what = `regenerate robot ${robotLogin(this.#source, shortname)}'s token`;
    const response = await this.#call(what, { method: "POST", url: `${this.#url(shortname)}/regenerate` });
    if (missing(response)) return undefined;
    return this.#token(what, shortname, response);
  }

  /** `PUT …/robots/{shortname}`: creates the robot; its token, or undefined when the robot already exists. Quay answers 201; its description says 200. */
  async create(shortname: string, description: string): Promise<string | undefined> {
    const what = `create robot ${robotLogin(this.#source, shortname)}`;
    const response = await this.#call(what, { method: "PUT", url: this.#url(shortname), json: { description: description.slice(0, 255) } });
    if (exists(response)) return undefined;
    return this.#token(what, shortname, response);
  }

  #url(shortname: string): string {
    return `${this.#robots}/${encodeURIComponent(shortname)}`;
  }

  /** The answer's token, from a 200 or 201 naming the robot asked for; anything else is a failure that quotes nothing of the body. */
  #token(what: string, shortname: string, response: ProviderResponse): string {
    if (response.status !== 200 && response.status !== 201) throw this.#failure(what, response);
    const { name, token } = (response.body ?? {}) as Answer;
    if (typeof token !== "string" || token === "") throw new ProviderError("provider_refused", `Quay: ${what}: HTTP ${response.status} without a token`);
    if (name !== undefined && name !== robotLogin(this.#source, shortname)) throw new ProviderError("provider_refused", `Quay: ${what}: HTTP ${response.status} for another robot`);
    return token;
  }

  #call(_what: string, request: { method: "POST" | "PUT"; url: string; json?: unknown }): Promise<ProviderResponse> {
    return this.#http.request(QUAY_PROVIDER, { ...request, headers: { authorization: `Bearer ${this.#admin.password.reveal()}` } });
  }

  #failure(what: string, response: ProviderResponse): ProviderError {
    return providerFailure("Quay", what, response, { nowMs: this.#now() });
  }
}
