import { randomInt } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { expectClean, FailureScript, type RecordedRequest, type ScriptedFailure, jsonSender, parseBody, redactAuthorization, useProviderFake } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";

/**
 * A local stand-in for Quay's robot-account API (the operations extracted into
 * test/fixtures/provider-specs/quay.json; answers shaped as quay-robots.md says, since the
 * description declares no response schema), with a real `docker-registry` behind it.
 *
 * - Every request is checked against the extracted description (provider-spec.ts); one that
 *   departs from it is answered 400 and each departure is recorded in `violations`. The
 *   description is held as published: createOrgRobot/createUserRobot mark their body required,
 *   so a client sends `{}` at least.
 * - Bearer auth with the admin OAuth token the test configures (org:admin for `orgs`, user:admin
 *   for `user`); any other token 401, a token Quay knows without the admin scope (`others`) 403,
 *   an organization the token does not administer 403.
 * - Each robot's token is the password of the htpasswd user `<org-or-user>+<shortname>` in the
 *   CredentialRegistry: installed on create, replaced on regenerate before the answer goes out
 *   (the old token stops working at once: Quay holds one token per robot), removed on delete.
 *   Robot tokens do not expire.
 * - Scripted failures (`failNext`): a status with headers and body, a connection reset, a hang.
 * - Never logs anything; recorded requests carry neither the bearer token nor a robot token.
 */

/** A scripted answer; `match` sees the path with /api/v1. */
export type { ScriptedFailure } from "./provider-fake.js";

/** A recorded request: path with /api/v1, without the query. */
export type QuayRequest = RecordedRequest;

export interface QuayRobot {
  /** The login: <org-or-user>+<shortname>. */
  readonly name: string;
  readonly description: string;
  readonly created: string;
  readonly unstructuredMetadata: Record<string, unknown>;
}

interface StoredRobot extends QuayRobot {
  token: string;
}

export interface FakeQuayOptions {
  readonly registry: CredentialRegistry;
  /** The admin OAuth token Quay accepts. */
  readonly token: string;
  /** The token's user: its robots are under /user/robots. */
  readonly user?: string;
  /** The organizations the token administers. */
  readonly orgs?: readonly string[];
  /** Tokens Quay knows that lack the admin scope: 403. */
  readonly others?: readonly string[];
}

const spec = () => loadProviderSpec("quay");
// Quay's robot shortname rule (ROBOT_NAME_REGEX in util/names.py as of the commit quay-robots.md names).
const SHORTNAME = /^[a-z][a-z0-9_]{1,254}$/;

function generateToken(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return Array.from({ length: 64 }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** RFC 2822, as Quay formats `created`: "Fri, 10 May 2024 17:46:02 -0000". */
function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, "-0000");
}

function quayError(status: number, type: string, detail: string): Record<string, unknown> {
  return { status, error_message: detail, title: type, error_type: type, detail, type: `https://quay.example.com/api/v1/error/${type}` };
}

export class FakeQuay {
  readonly requests: QuayRequest[] = [];
  readonly violations: string[] = [];
  token: string;
  readonly user: string;
  readonly orgs: readonly string[];
  readonly others: readonly string[];
  readonly registry: CredentialRegistry;
  /** Robots by login (<namespace>+<shortname>). */
  readonly #robots = new Map<string, StoredRobot>();
  readonly #script = new FailureScript<ScriptedFailure>();
  #server: LocalServer | undefined;

  private constructor(options: FakeQuayOptions) {
    this.registry = options.registry;
    this.token = options.token;
    this.user = options.user ?? "alice";
    this.orgs = options.orgs ?? ["acme"];
    this.others = options.others ?? [];
  }

  static async start(options: FakeQuayOptions): Promise<FakeQuay> {
    const fake = new FakeQuay(options);
    fake.#server = await startServer((req, res) => fake.#handle(req, res));
    return fake;
  }

  /** http://127.0.0.1:<port> (paths start with /api/v1). */
  get url(): string {
    if (this.#server === undefined) throw new Error("not started");
    return this.#server.url;
  }

  failNext(...failures: ScriptedFailure[]): void {
    this.#script.push(...failures);
  }

  get pending(): number {
    return this.#script.pending;
  }

  robots(): QuayRobot[] {
    return [...this.#robots.values()].map(({ token: _token, ...view }) => ({ ...view, unstructuredMetadata: structuredClone(view.unstructuredMetadata) }));
  }

  takeViolations(): string[] {
    return this.violations.splice(0);
  }

  async reset(): Promise<void> {
    const names = [...this.#robots.keys()];
    this.#robots.clear();
    this.#script.clear();
    this.requests.length = 0;
    this.violations.length = 0;
    await Promise.all(names.map((n) => this.registry.remove(n)));
  }

  async close(): Promise<void> {
    this.#script.cutHung();
    await this.#server?.close();
  }

  async #handle(req: Received, res: ServerResponse): Promise<void> {
    const url = new URL(req.url, "http://fake.quay");
    const body = parseBody(req);
    const path = url.pathname;
    const checked = spec().check(req.method, path, url.searchParams, body, req.headers);
    const auth = req.headers.authorization;
    const headers = redactAuthorization(req.headers);
    const record: QuayRequest = { method: req.method, path, query: url.searchParams, headers, body, operation: checked.operation, at: Date.now(), status: 0 };
    this.requests.push(record);
    this.violations.push(...checked.violations);

    const send = jsonSender(res, record);
    const error = (status: number, type: string, detail: string): void => send(status, quayError(status, type, detail));
    /** A success answer; checked against the description where it declares this status (see create and regenerate). */
    const ok = (status: number, payload?: unknown, check = true): void => {
      if (check && checked.operation !== undefined) this.violations.push(...spec().checkResponse(checked.operation, status, payload).map((v) => `stand-in answer: ${v}`));
      send(status, payload);
    };

    if (this.#script.play({ method: req.method, path }, res, record, send)) return;

    const bearer = /^Bearer (.+)$/i.exec(auth ?? "")?.[1];
    if (bearer !== this.token) {
      if (bearer !== undefined && this.others.includes(bearer)) return error(403, "insufficient_scope", "Unauthorized");
      return error(401, "invalid_token", "Requires authentication");
    }
    if (checked.operation === undefined) return error(404, "not_found", "Not Found");
    if (checked.violations.length > 0) return error(400, "invalid_request", checked.violations.join("; "));

    const m = /^\/api\/v1\/(?:organization\/([^/]+)|user)\/robots\/([^/]+)(\/regenerate)?$/.exec(path);
    const orgname = m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
    const shortname = decodeURIComponent(m?.[2] ?? "");
    if (orgname !== undefined && !this.orgs.includes(orgname)) return error(403, "insufficient_scope", "Unauthorized");
    const login = `${orgname ?? this.user}+${shortname}`;
    const robot = this.#robots.get(login);
    const notFound = (): void => error(404, "not_found", "Could not find robot with specified username");
    const b = (body ?? {}) as { description?: string; unstructured_metadata?: Record<string, unknown> };
    const view = (r: StoredRobot, metadata: boolean) => ({
      name: r.name,
      created: r.created,
      last_accessed: null,
      description: r.description,
      token: r.token,
      ...(metadata ? { unstructured_metadata: structuredClone(r.unstructuredMetadata) } : {}),
    });

    switch (checked.operation.replace("/organization/{orgname}/", "/user/")) {
      case "PUT /api/v1/user/robots/{robot_shortname}": {
        if (!SHORTNAME.test(shortname)) return error(400, "invalid_request", "Invalid robot account name");
        if (robot !== undefined) return error(400, "invalid_request", `Existing robot with name: ${login}`);
        const stored: StoredRobot = { name: login, description: b.description ?? "", created: rfc2822(Date.now()), unstructuredMetadata: structuredClone(b.unstructured_metadata ?? {}), token: generateToken() };
        this.#robots.set(login, stored);
        await this.registry.install(login, stored.token);
        // Quay answers 201 (quay-robots.md); the description declares 200: not checked against it.
        return ok(201, view(stored, true), false);
      }
      case "GET /api/v1/user/robots/{robot_shortname}":
        return robot === undefined ? notFound() : ok(200, view(robot, true));
      case "POST /api/v1/user/robots/{robot_shortname}/regenerate": {
        if (robot === undefined) return notFound();
        robot.token = generateToken();
        await this.registry.install(login, robot.token);
        // Quay answers 200 with the robot (quay-robots.md, from endpoints/api/robot.py); the
        // description and Red Hat's reference say 201. We follow Quay: not checked against the description.
        return ok(200, view(robot, false), false);
      }
      case "DELETE /api/v1/user/robots/{robot_shortname}": {
        if (robot === undefined) return notFound();
        this.#robots.delete(login);
        await this.registry.remove(login);
        return ok(204);
      }
      default:
        return error(404, "not_found", "Not Found");
    }
  }
}

export interface FakeQuayWorld {
  readonly quay: FakeQuay;
  readonly registry: CredentialRegistry;
  readonly token: string;
}

export const QUAY_ADMIN_TOKEN = "quay-oauth-admin-token-CONTRACT";

/**
 * Registers hooks: a credential registry and a FakeQuay for the test file (started before all,
 * stopped after all); before each test every robot is deleted and the token back to `options`;
 * after each, the test fails on any violation or unconsumed scripted failure.
 */
export function useFakeQuay(options: Omit<FakeQuayOptions, "registry" | "token"> & { token?: string } = {}): FakeQuayWorld {
  const token = options.token ?? QUAY_ADMIN_TOKEN;
  return useProviderFake(
    "useFakeQuay",
    async (registry) => {
      const quay = await FakeQuay.start({ ...options, registry, token });
      return { fake: quay, world: { quay, registry, token } };
    },
    {
      stop: (quay) => quay.close(),
      before: async (quay) => {
        await quay.reset();
        quay.token = token;
      },
      after: expectClean,
    },
  );
}
