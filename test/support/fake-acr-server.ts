/** Fake ACR HTTP server: an Entra ID client-credentials endpoint, and ARM's spec-checked ACR token routes with the registry kept in step. */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import {
  ACR_API_VERSION,
  ACR_SLOTS,
  type AcrRequest,
  type AcrSlot,
  type AcrTokenView,
  armError,
  EntraStandIn,
  type FakeAcrOptions,
  generatePassword,
  type PendingOperation,
  passwordView,
  registryResourceId,
  type ServicePrincipal,
  type StoredToken,
  tokenResource,
  tokenView,
} from "./fake-acr-tokens.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { FailureScript, jsonSender, parseBody, redactAuthorization, redactFields, type ScriptedFailure } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";

const spec = () => loadProviderSpec("azure-acr");
const TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;
const OPERATION_PATH = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/locations\/[^/]+\/operationResults\/([^/]+)$/;

export class FakeAcr {
  readonly requests: AcrRequest[] = [];
  /** Departures from the description (requests, and the stand-in's own answers); a correct client leaves this empty. */
  readonly violations: string[] = [];
  admin: ServicePrincipal;
  others: readonly ServicePrincipal[];
  /** Answer GenerateCredentials 202 + Location (a long-running operation) instead of 200; `polls` 202s at the Location first. */
  longRunning: { readonly polls: number } | undefined;
  readonly registry: CredentialRegistry;
  readonly options: FakeAcrOptions;
  readonly #tokens = new Map<string, StoredToken>();
  readonly #entra = new EntraStandIn(this);
  readonly #operations = new Map<string, PendingOperation>();
  /** Passwords installed in the registry, by token name. */
  readonly #installed = new Map<string, Set<string>>();
  readonly #script = new FailureScript<ScriptedFailure>();
  #offset: number;
  #server: LocalServer | undefined;

  private constructor(options: FakeAcrOptions) {
    this.options = options;
    this.registry = options.registry;
    this.admin = options.admin;
    this.others = options.others ?? [];
    this.#offset = options.clockOffsetMs ?? 0;
    this.#seed();
  }

  static async start(options: FakeAcrOptions): Promise<FakeAcr> {
    const fake = new FakeAcr(options);
    fake.#server = await startServer((req, res) => fake.#handle(req, res));
    return fake;
  }

  /** The base of both the ARM and the Entra ID stand-ins, http://127.0.0.1:<port>. */
  get url(): string {
    if (this.#server === undefined) throw new Error("FakeAcr: not started");
    return this.#server.url;
  }

  /** The ACR's ARM resource id (a token's is `<this>/tokens/<name>`). */
  get registryId(): string {
    return registryResourceId(this.options);
  }

  /** The fake's clock (ms): real time plus the offset `tick` moved it by. */
  get now(): number {
    return Date.now() + this.#offset;
  }

  /** Moves the clock; every password whose expiry has come stops opening the registry before this resolves. */
  async tick(now: number): Promise<void> {
    this.#offset = now - Date.now();
    await this.#syncAll();
  }

  failNext(...failures: ScriptedFailure[]): void {
    this.#script.push(...failures);
  }

  get pending(): number {
    return this.#script.pending;
  }

  takeViolations(): string[] {
    return this.violations.splice(0);
  }

  /** A token as ACR holds it, without password values. */
  token(name: string): AcrTokenView | undefined {
    const t = this.#tokens.get(name);
    return t === undefined ? undefined : tokenView(t);
  }

  /** Sets a token's status (disabled: none of its passwords opens the registry). */
  async setStatus(name: string, status: "enabled" | "disabled"): Promise<void> {
    const t = this.#tokens.get(name);
    if (t === undefined) throw new Error(`FakeAcr: no token ${name}`);
    t.status = status;
    await this.#sync(t);
  }

  /** Every token back to its seeded state (no password), scripts, records and the clock reset. */
  async reset(): Promise<void> {
    this.#script.clear();
    this.#script.cutHung();
    this.requests.length = 0;
    this.violations.length = 0;
    this.#offset = this.options.clockOffsetMs ?? 0;
    this.longRunning = undefined;
    this.#operations.clear();
    this.#seed();
    await this.#syncAll();
  }

  async close(): Promise<void> {
    this.#script.clear();
    this.#script.cutHung();
    await this.#server?.close();
  }

  #seed(): void {
    this.#tokens.clear();
    for (const [name, scopeMap] of Object.entries(this.options.tokens ?? { pullkeeper: "_repositories_pull" })) {
      this.#tokens.set(name, { name, creationDate: this.now, scopeMapId: `${this.registryId}/scopeMaps/${scopeMap}`, status: "enabled", passwords: new Map() });
    }
  }

  async #syncAll(): Promise<void> {
    for (const name of new Set([...this.#tokens.keys(), ...this.#installed.keys()])) await this.#sync(this.#tokens.get(name), name);
  }

  /** Makes the registry accept exactly the token's live passwords (enabled, unexpired), each a shared login of the token's name. */
  async #sync(t: StoredToken | undefined, name = t?.name ?? ""): Promise<void> {
    const live = new Set(t === undefined || t.status !== "enabled" ? [] : [...t.passwords.values()].filter((p) => p.expiry === undefined || p.expiry > this.now).map((p) => p.value));
    const installed = this.#installed.get(name) ?? new Set<string>();
    for (const value of installed) if (!live.has(value)) await this.registry.removeShared(name, value);
    for (const value of live) if (!installed.has(value)) await this.registry.installShared(name, value);
    this.#installed.set(name, live);
  }

  async #handle(req: Received, res: ServerResponse): Promise<void> {
    const url = new URL(req.url, "http://fake.acr");
    const path = url.pathname;
    const body = parseBody(req);
    const tenant = TOKEN_PATH.exec(path)?.[1];
    const isArm = tenant === undefined && !OPERATION_PATH.test(path);
    const checked = isArm ? spec().check(req.method, path, url.searchParams, body, req.headers) : { operation: undefined, violations: [] };
    const form = tenant !== undefined ? new URLSearchParams(req.body) : undefined;
    const record: AcrRequest = {
      method: req.method,
      path,
      query: url.searchParams,
      headers: redactAuthorization(req.headers),
      body: form !== undefined ? redactFields(Object.fromEntries(form), ["client_secret"]) : body,
      operation: checked.operation ?? (tenant !== undefined ? "POST /{tenant}/oauth2/v2.0/token" : undefined),
      at: Date.now(),
      status: 0,
    };
    this.requests.push(record);
    this.violations.push(...checked.violations);
    const send = jsonSender(res, record, { "x-ms-request-id": randomUUID() });
    if (this.#script.play({ method: req.method, path }, res, record, send)) return;
    if (tenant !== undefined && form !== undefined) return this.#entra.issue(req, tenant, form, send);

    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const session = bearer === undefined ? undefined : this.#entra.session(bearer);
    if (session === undefined) {
      return send(401, armError(bearer === undefined ? "AuthenticationFailed" : "InvalidAuthenticationToken", "The access token is missing, invalid or expired."), { "www-authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common"' });
    }
    if (session.clientId !== this.admin.clientId) {
      return send(403, armError("AuthorizationFailed", `The client '${session.clientId}' does not have authorization to perform this action over scope '${this.registryId}'.`));
    }

    const operationId = OPERATION_PATH.exec(path)?.[1];
    if (operationId !== undefined) {
      const operation = this.#operations.get(operationId);
      if (operation === undefined) return send(404, armError("NotFound", "no such operation"));
      if (operation.polls > 0) {
        operation.polls--;
        return send(202, undefined, { location: `${this.url}${path}${url.search}`, "retry-after": "0" });
      }
      return send(200, operation.result);
    }

    if (checked.operation === undefined) return send(404, armError("NotFound", `no route for ${req.method} ${path}`));
    if (checked.violations.length > 0) return send(400, armError("InvalidRequestContent", checked.violations.join("; ")));
    if (url.searchParams.get("api-version") !== ACR_API_VERSION) return send(400, armError("InvalidApiVersionParameter", `The api-version '${url.searchParams.get("api-version") ?? ""}' is invalid.`));
    if (!path.toLowerCase().startsWith(this.registryId.toLowerCase())) return send(404, armError("ResourceNotFound", "The Resource was not found."));
    const ok = (status: number, payload: unknown, headers?: Readonly<Record<string, string>>): void => {
      this.violations.push(...spec().checkResponse(checked.operation as string, status, payload).map((v) => `stand-in answer: ${v}`));
      send(status, payload, headers);
    };
    const b = (body ?? {}) as Record<string, unknown>;

    if (checked.operation.startsWith("POST ")) {
      const tokenId = typeof b.tokenId === "string" ? b.tokenId : "";
      const prefix = `${this.registryId}/tokens/`.toLowerCase();
      if (!tokenId.toLowerCase().startsWith(prefix)) return send(400, armError("InvalidTokenId", "tokenId is not the resource id of a token of this registry."));
      const token = [...this.#tokens.values()].find((t) => t.name.toLowerCase() === tokenId.slice(prefix.length).toLowerCase());
      if (token === undefined) return send(404, armError("ResourceNotFound", "The token was not found."));
      const expiry = typeof b.expiry === "string" ? Date.parse(b.expiry) : undefined;
      if (expiry !== undefined && expiry <= this.now) return send(400, armError("InvalidExpiry", "The expiry must be in the future."));
      // Without a name ACR regenerates both passwords (az acr token credential generate without --password1/2).
      const slots: AcrSlot[] = b.name === "password1" || b.name === "password2" ? [b.name] : [...ACR_SLOTS];
      for (const name of slots) token.passwords.set(name, { name, value: generatePassword(), creationTime: this.now, expiry });
      await this.#sync(token);
      const result = { username: token.name, passwords: slots.map((s) => passwordView(token.passwords.get(s) as NonNullable<ReturnType<typeof token.passwords.get>>, true)) };
      if (this.longRunning === undefined) return ok(200, result);
      const id = randomUUID();
      this.#operations.set(id, { result, polls: this.longRunning.polls });
      return ok(202, undefined, { location: `${this.url}/subscriptions/${this.options.subscription}/providers/Microsoft.ContainerRegistry/locations/eastus/operationResults/${id}?api-version=${ACR_API_VERSION}`, "retry-after": "0" });
    }

    const token = this.#tokens.get(decodeURIComponent(path.slice(path.lastIndexOf("/") + 1)));
    if (token === undefined) return send(404, armError("ResourceNotFound", "The token was not found."));
    if (checked.operation.startsWith("GET ")) return ok(200, tokenResource(this.registryId, token));

    // Tokens_Update: `credentials.passwords` lists the slots to keep (az acr token credential delete sends the others' names).
    const properties = (b.properties ?? {}) as { credentials?: { passwords?: { name?: unknown }[] }; status?: unknown; scopeMapId?: unknown };
    const keep = properties.credentials?.passwords?.map((p) => p.name);
    if (keep !== undefined) for (const slot of ACR_SLOTS) if (!keep.includes(slot)) token.passwords.delete(slot);
    if (properties.status === "enabled" || properties.status === "disabled") token.status = properties.status;
    if (typeof properties.scopeMapId === "string") token.scopeMapId = properties.scopeMapId;
    await this.#sync(token);
    return ok(200, tokenResource(this.registryId, token));
  }
}
