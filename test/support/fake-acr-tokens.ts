/** Fake ACR data model: the service principal, ACR tokens with their two password slots, the views ARM answers with, and the Entra ID stand-in. */
import { randomBytes } from "node:crypto";
import type { Received } from "./http.js";
import type { CredentialRegistry } from "./credential-registry.js";
import type { RecordedRequest } from "./provider-fake.js";

export const ACR_SLOTS = ["password1", "password2"] as const;
export type AcrSlot = (typeof ACR_SLOTS)[number];

/** The api-version of the description in test/fixtures/provider-specs/azure-acr.json. */
export const ACR_API_VERSION = "2025-04-01";

/** The scope a client-credentials request for ARM asks for. */
export const ARM_SCOPE = "https://management.azure.com/.default";

/** A Microsoft Entra ID application (service principal) and its client secret. */
export interface ServicePrincipal {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface FakeAcrOptions {
  readonly registry: CredentialRegistry;
  /** The Entra ID tenant the fake's token endpoint serves (`/{tenant}/oauth2/v2.0/token`). */
  readonly tenant: string;
  readonly subscription: string;
  readonly resourceGroup: string;
  /** The ACR's name (`registries/{registryName}`). */
  readonly registryName: string;
  /** The principal with a role that may generate credentials on the registry. */
  readonly admin: ServicePrincipal;
  /** Principals Entra ID knows, without that role: ARM answers them 403. */
  readonly others?: readonly ServicePrincipal[];
  /** The tokens that exist, each with its scope map; default one token `pullkeeper` on `_repositories_pull`. */
  readonly tokens?: Readonly<Record<string, string>>;
  /** The clock's offset from real time (ms); 0 by default. */
  readonly clockOffsetMs?: number;
}

export interface StoredPassword {
  readonly name: AcrSlot;
  readonly value: string;
  readonly creationTime: number;
  /** Epoch ms; undefined: never expires. */
  readonly expiry: number | undefined;
}

export interface StoredToken {
  readonly name: string;
  readonly creationDate: number;
  scopeMapId: string;
  status: "enabled" | "disabled";
  readonly passwords: Map<AcrSlot, StoredPassword>;
}

/** A token as the fake shows it to tests: slots with their times, never a value. */
export interface AcrTokenView {
  readonly name: string;
  readonly status: "enabled" | "disabled";
  readonly scopeMapId: string;
  readonly passwords: readonly { readonly name: AcrSlot; readonly creationTime: string; readonly expiry?: string }[];
}

/** A recorded request: the path without the query, `client_secret` and any password `value` redacted, the bearer reduced to its scheme. */
export type AcrRequest = RecordedRequest;

/** A long-running GenerateCredentials whose answer waits at its Location. */
export interface PendingOperation {
  readonly result: unknown;
  /** 202s still to answer before the result. */
  polls: number;
}

export function registryResourceId(o: Pick<FakeAcrOptions, "subscription" | "resourceGroup" | "registryName">): string {
  return `/subscriptions/${o.subscription}/resourceGroups/${o.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${o.registryName}`;
}

/** ACR token passwords are long random strings (shown once, by GenerateCredentials). */
export function generatePassword(): string {
  return randomBytes(39).toString("base64");
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function passwordView(p: StoredPassword, withValue: boolean): Record<string, string> {
  return { name: p.name, creationTime: iso(p.creationTime), ...(p.expiry !== undefined && { expiry: iso(p.expiry) }), ...(withValue && { value: p.value }) };
}

/** The Token resource as Tokens_Get and Tokens_Update answer it (no password value: `value` is readOnly and never listed). */
export function tokenResource(registryId: string, t: StoredToken): Record<string, unknown> {
  return {
    id: `${registryId}/tokens/${t.name}`,
    name: t.name,
    type: "Microsoft.ContainerRegistry/registries/tokens",
    properties: {
      creationDate: iso(t.creationDate),
      provisioningState: "Succeeded",
      scopeMapId: t.scopeMapId,
      status: t.status,
      credentials: { certificates: [], passwords: ACR_SLOTS.flatMap((s) => (t.passwords.has(s) ? [passwordView(t.passwords.get(s) as StoredPassword, false)] : [])) },
    },
  };
}

export function tokenView(t: StoredToken): AcrTokenView {
  return {
    name: t.name,
    status: t.status,
    scopeMapId: t.scopeMapId,
    passwords: ACR_SLOTS.flatMap((s) => {
      const p = t.passwords.get(s);
      return p === undefined ? [] : [{ name: s, creationTime: iso(p.creationTime), ...(p.expiry !== undefined && { expiry: iso(p.expiry) }) }];
    }),
  };
}

/** ARM's error body. */
export const armError = (code: string, message: string): { error: { code: string; message: string } } => ({ error: { code, message } });

/** Entra ID's error body (AADSTS codes in the description, as the service writes them). */
export const entraError = (error: string, description: string): Record<string, unknown> => ({ error, error_description: description, error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)], timestamp: new Date().toISOString() });

/** What the Entra ID stand-in reads from the fake: its principals, its tenant, where departures go. */
export interface EntraDirectory {
  readonly admin: ServicePrincipal;
  readonly others: readonly ServicePrincipal[];
  readonly options: Pick<FakeAcrOptions, "tenant">;
  readonly violations: string[];
  /** The fake's own base URL: a client may ask for it as the resource (`<url>/.default`), as it would for another cloud's ARM. */
  readonly url: string;
}

/**
 * Microsoft Entra ID's client-credentials grant (`POST /{tenant}/oauth2/v2.0/token`). The repo holds
 * no published description of it: the form is checked by hand, departures go to `violations`.
 */
export class EntraStandIn {
  /** Access token → the principal it was issued to and its expiry (real time, ms). */
  readonly #bearers = new Map<string, { clientId: string; expiresAt: number }>();

  /** Read at each request: a test may change the admin's secret. */
  readonly #directory: EntraDirectory;

  constructor(directory: EntraDirectory) {
    this.#directory = directory;
  }

  /** The live session an access token opens, if any. */
  session(accessToken: string): { clientId: string; expiresAt: number } | undefined {
    const session = this.#bearers.get(accessToken);
    return session !== undefined && session.expiresAt > Date.now() ? session : undefined;
  }

  issue(req: Received, tenant: string, form: URLSearchParams, send: (status: number, body?: unknown) => void): void {
    const contentType = String(req.headers["content-type"] ?? "").split(";")[0]?.trim();
    if (req.method !== "POST") return send(405, entraError("invalid_request", "AADSTS900561: The endpoint only accepts POST requests."));
    if (contentType !== "application/x-www-form-urlencoded") {
      this.#directory.violations.push(`POST /${tenant}/oauth2/v2.0/token: content type ${contentType ?? ""} is not application/x-www-form-urlencoded`);
      return send(400, entraError("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'."));
    }
    const unknown = [...form.keys()].filter((k) => !["grant_type", "client_id", "client_secret", "scope"].includes(k));
    if (unknown.length > 0) this.#directory.violations.push(`POST /${tenant}/oauth2/v2.0/token: unexpected form fields ${unknown.join(", ")}`);
    if (form.get("grant_type") !== "client_credentials") return send(400, entraError("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."));
    if (form.get("scope") !== ARM_SCOPE && form.get("scope") !== `${this.#directory.url}/.default`) return send(400, entraError("invalid_scope", "AADSTS1002012: The provided value for scope is not valid."));
    if (tenant !== this.#directory.options.tenant) return send(400, entraError("invalid_request", `AADSTS90002: Tenant '${tenant}' not found.`));
    const clientId = form.get("client_id") ?? "";
    const principal = [this.#directory.admin, ...this.#directory.others].find((p) => p.clientId === clientId);
    if (principal === undefined) return send(400, entraError("unauthorized_client", `AADSTS700016: Application with identifier '${clientId}' was not found in the directory.`));
    if (form.get("client_secret") !== principal.clientSecret) return send(401, entraError("invalid_client", "AADSTS7000215: Invalid client secret provided."));
    const accessToken = `eyJ0eXAiOiJKV1QifQ.${randomBytes(24).toString("base64url")}`;
    this.#bearers.set(accessToken, { clientId, expiresAt: Date.now() + 3_600_000 });
    send(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: accessToken });
  }
}
