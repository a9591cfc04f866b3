import { randomInt, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { expectClean, FailureScript, type RecordedRequest, type ScriptedFailure, jsonSender, parseBody, redactAuthorization, redactFields, useProviderFake } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";

/**
 * A local stand-in for Harbor's robot-account API (`/api/v2.0/robots…`), the operations
 * extracted into test/fixtures/provider-specs/harbor.json, with a real `docker-registry` behind it.
 *
 * - Every request is checked against the extracted Swagger description (provider-spec.ts); one
 *   that departs from it is answered 400 (Harbor's `{errors: [{code, message}]}`) and each
 *   departure is recorded in `violations`. Its own success answers are checked too
 *   (`checkResponse`), and a departure there is recorded as well.
 * - Basic auth: the admin the test configures; any other login 401, a known user without the
 *   robot permission (`others`) 403.
 * - Each robot's current secret is the password of an htpasswd user named as the robot's login
 *   (`robot$<project>+<name>` for a project robot, `robot$<name>` for a system one) in the
 *   CredentialRegistry: installed on create, replaced on refresh before the answer goes out (the
 *   old secret stops working at once, as in Harbor, which holds one secret per robot), removed
 *   on delete, disable and expiry (`tick(now)` moves the clock).
 * - Refresh (`PATCH /robots/{id}`, RobotSec): no secret → Harbor generates one and returns it; a
 *   given secret must be 8–128 characters with an upper-case letter, a lower-case letter and a
 *   digit (else 400), and the answer's secret is empty (Harbor's `RefreshSec` handler).
 * - `maxRobots`: creating one more robot is refused (see ROBOT_QUOTA_MESSAGE).
 * - Scripted failures (`failNext`): a status with headers and body (429 ± Retry-After, 500, 503…),
 *   a connection reset, or no answer at all.
 * - Never logs anything; recorded requests carry neither the Authorization header's credentials
 *   nor a `secret` from a body.
 */

export const HARBOR_BASE_PATH = "/api/v2.0";

/**
 * Harbor itself has no robot-count limit in its API description (CreateRobot declares 201, 400,
 * 401, 403, 404, 500); the stand-in's quota answers as Harbor's quota checks do (403, code
 * DENIED), so that a client's "quota reached" classification has something to meet.
 */
export const ROBOT_QUOTA_MESSAGE = "robot quota exceeded";

export interface HarborLogin {
  readonly username: string;
  readonly password: string;
}

/** A scripted answer; `match` sees the path without /api/v2.0. */
export type { ScriptedFailure } from "./provider-fake.js";

/** A recorded request: path without /api/v2.0 and the query, any `secret` in the body redacted. */
export type HarborRequest = RecordedRequest;

export interface HarborRobot {
  readonly id: number;
  /** The login: robot$<project>+<name> or robot$<name>. */
  readonly name: string;
  readonly level: "system" | "project";
  description: string;
  disable: boolean;
  /** Days; -1 never expires. */
  duration: number;
  /** Epoch seconds; -1 never. */
  expiresAt: number;
  readonly creationTime: string;
  updateTime: string;
  permissions: unknown[];
}

interface StoredRobot extends HarborRobot {
  secret: string;
}

export interface FakeHarborOptions {
  readonly registry: CredentialRegistry;
  readonly admin: HarborLogin;
  /** Users Harbor knows who may not manage robots: 403. */
  readonly others?: readonly HarborLogin[];
  readonly maxRobots?: number;
  /** The clock's start (ms); Date.now() by default. */
  readonly now?: number;
  /** Harbor's `robot_token_duration` (days), used for duration 0. */
  readonly defaultDurationDays?: number;
}

const spec = () => loadProviderSpec("harbor");
const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const SECRET_RULE = "the secret must be 8-128, inclusively, characters long with at least 1 uppercase letter, 1 lowercase letter and 1 number";

/** Harbor's rule for a robot secret (IsValidSec). */
export function isValidHarborSecret(secret: string): boolean {
  return secret.length >= 8 && secret.length <= 128 && /[A-Z]/.test(secret) && /[a-z]/.test(secret) && /[0-9]/.test(secret);
}

function generateSecret(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (;;) {
    const s = Array.from({ length: 32 }, () => alphabet[randomInt(alphabet.length)]).join("");
    if (isValidHarborSecret(s)) return s;
  }
}

export class FakeHarbor {
  readonly requests: HarborRequest[] = [];
  /** Departures from the description (requests, and the stand-in's own answers); a correct client leaves this empty. */
  readonly violations: string[] = [];
  admin: HarborLogin;
  others: readonly HarborLogin[];
  maxRobots: number;
  defaultDurationDays: number;
  /** The clock (ms). */
  now: number;
  readonly registry: CredentialRegistry;
  readonly #robots = new Map<number, StoredRobot>();
  readonly #script = new FailureScript<ScriptedFailure>();
  #nextId = 1;
  #server: LocalServer | undefined;

  private constructor(options: FakeHarborOptions) {
    this.registry = options.registry;
    this.admin = options.admin;
    this.others = options.others ?? [];
    this.maxRobots = options.maxRobots ?? Number.POSITIVE_INFINITY;
    this.now = options.now ?? Date.now();
    this.defaultDurationDays = options.defaultDurationDays ?? 30;
  }

  static async start(options: FakeHarborOptions): Promise<FakeHarbor> {
    const fake = new FakeHarbor(options);
    fake.#server = await startServer((req, res) => fake.#handle(req, res));
    return fake;
  }

  /** The API root, http://127.0.0.1:<port>/api/v2.0 */
  get url(): string {
    if (this.#server === undefined) throw new Error("not started");
    return `${this.#server.url}${HARBOR_BASE_PATH}`;
  }

  /** Answers the next matching request with `failure` instead of handling it (queued in order). */
  failNext(...failures: ScriptedFailure[]): void {
    this.#script.push(...failures);
  }

  /** Scripted failures not consumed yet. */
  get pending(): number {
    return this.#script.pending;
  }

  /** The robots as Harbor holds them, without their secrets. */
  robots(): HarborRobot[] {
    return [...this.#robots.values()].map((r) => this.#view(r));
  }

  /** Moves the clock; robots whose expires_at has passed stop opening the registry once this resolves. */
  async tick(now: number): Promise<void> {
    this.now = now;
    await Promise.all([...this.#robots.values()].map((r) => this.#sync(r)));
  }

  /** Returns the recorded violations and forgets them. */
  takeViolations(): string[] {
    return this.violations.splice(0);
  }

  /** Deletes every robot (and its login), scripted failures, records; the clock back to now. */
  async reset(): Promise<void> {
    const names = [...this.#robots.values()].map((r) => r.name);
    this.#robots.clear();
    this.#script.clear();
    this.requests.length = 0;
    this.violations.length = 0;
    this.now = Date.now();
    await Promise.all(names.map((n) => this.registry.remove(n)));
  }

  async close(): Promise<void> {
    this.#script.cutHung();
    await this.#server?.close();
  }

  #view(r: StoredRobot): HarborRobot {
    const { secret: _secret, ...view } = r;
    return { ...view, permissions: structuredClone(r.permissions) };
  }

  #expired(r: StoredRobot): boolean {
    return r.expiresAt !== -1 && r.expiresAt * 1000 <= this.now;
  }

  /** Makes the registry hold exactly what Harbor would accept for this robot. */
  async #sync(r: StoredRobot): Promise<void> {
    if (this.#robots.get(r.id) === r && !r.disable && !this.#expired(r)) await this.registry.install(r.name, r.secret);
    else await this.registry.remove(r.name);
  }

  #expiry(durationDays: number, fromMs: number): number {
    if (durationDays === -1) return -1;
    const days = durationDays === 0 ? this.defaultDurationDays : durationDays;
    return Math.floor(fromMs / 1000) + days * 86_400;
  }

  async #handle(req: Received, res: ServerResponse): Promise<void> {
    const url = new URL(req.url, "http://fake.harbor");
    const body = parseBody(req);
    const path = url.pathname.startsWith(HARBOR_BASE_PATH) ? url.pathname.slice(HARBOR_BASE_PATH.length) : url.pathname;
    const checked = spec().check(req.method, url.pathname, url.searchParams, body, req.headers);
    const auth = req.headers.authorization;
    const headers = redactAuthorization(req.headers);
    const record: HarborRequest = { method: req.method, path, query: url.searchParams, headers, body: redactFields(body, ["secret"]), operation: checked.operation, at: Date.now(), status: 0 };
    this.requests.push(record);
    this.violations.push(...checked.violations);
    const requestId = typeof req.headers["x-request-id"] === "string" ? req.headers["x-request-id"] : randomUUID();

    const send = jsonSender(res, record, { "x-request-id": requestId });
    const error = (status: number, code: string, message: string): void => send(status, { errors: [{ code, message }] });
    const ok = (status: number, payload?: unknown, extra: Readonly<Record<string, string>> = {}): void => {
      if (checked.operation !== undefined) this.violations.push(...spec().checkResponse(checked.operation, status, payload).map((v) => `stand-in answer: ${v}`));
      send(status, payload, extra);
    };

    if (this.#script.play({ method: req.method, path }, res, record, send)) return;

    if (!this.#authorized(auth)) {
      if (this.#known(auth)) return error(403, "FORBIDDEN", "forbidden");
      return error(401, "UNAUTHORIZED", "unauthorized");
    }
    if (checked.operation === undefined) return error(404, "NOT_FOUND", `no route for ${req.method} ${url.pathname}`);
    if (checked.violations.length > 0) return error(400, "BAD_REQUEST", checked.violations.join("; "));

    const id = Number(/^\/robots\/(\d+)$/.exec(path)?.[1]);
    const robot = this.#robots.get(id);
    const notFound = (): void => error(404, "NOT_FOUND", `robot ${id} not found`);
    const b = (body ?? {}) as Record<string, unknown>;

    switch (checked.operation) {
      case "POST /api/v2.0/robots": {
        const name = typeof b.name === "string" ? b.name : "";
        if (!NAME.test(name)) return error(400, "BAD_REQUEST", "robot name is not in lower case or contains illegal characters");
        const level = b.level;
        if (level !== "system" && level !== "project") return error(400, "BAD_REQUEST", `bad request error level input: ${String(level)}`);
        const duration = typeof b.duration === "number" ? b.duration : 0;
        if (duration < -1 || !Number.isInteger(duration)) return error(400, "BAD_REQUEST", `bad request error duration input: ${duration}, duration must be either -1(Never) or a positive integer`);
        const permissions = Array.isArray(b.permissions) ? b.permissions : [];
        if (permissions.length === 0) return error(400, "BAD_REQUEST", "bad request empty permission");
        const first = permissions[0] as { kind?: unknown; namespace?: unknown };
        if (level === "project" && (permissions.length > 1 || first.kind !== "project" || typeof first.namespace !== "string" || first.namespace === "")) {
          return error(400, "BAD_REQUEST", "bad request permission");
        }
        const given = typeof b.secret === "string" && b.secret !== "" ? b.secret : undefined;
        if (given !== undefined && !isValidHarborSecret(given)) return error(400, "BAD_REQUEST", SECRET_RULE);
        const login = level === "project" ? `robot$${String(first.namespace)}+${name}` : `robot$${name}`;
        if ([...this.#robots.values()].some((r) => r.name === login)) return error(409, "CONFLICT", `robot ${login} already exists`);
        if (this.#robots.size >= this.maxRobots) return error(403, "DENIED", `${ROBOT_QUOTA_MESSAGE}: ${this.#robots.size} of ${this.maxRobots} robots exist`);
        const created = new Date(this.now).toISOString();
        const stored: StoredRobot = {
          id: this.#nextId++,
          name: login,
          level,
          description: typeof b.description === "string" ? b.description : "",
          disable: b.disable === true,
          duration,
          expiresAt: this.#expiry(duration, this.now),
          creationTime: created,
          updateTime: created,
          permissions: structuredClone(permissions),
          secret: given ?? generateSecret(),
        };
        this.#robots.set(stored.id, stored);
        await this.#sync(stored);
        return ok(201, { id: stored.id, name: stored.name, secret: stored.secret, creation_time: stored.creationTime, expires_at: stored.expiresAt }, { location: `${HARBOR_BASE_PATH}/robots/${stored.id}` });
      }
      case "GET /api/v2.0/robots": {
        const filters = (url.searchParams.get("q") ?? "")
          .split(",")
          .filter((f) => f !== "")
          .map((f) => /^([^=]+)=(~?)(.*)$/.exec(f))
          .filter((m): m is RegExpExecArray => m !== null);
        const field = (r: StoredRobot, key: string): string => (key === "name" ? r.name : key.toLowerCase() === "level" ? r.level : key === "disable" ? String(r.disable) : "");
        const matching = [...this.#robots.values()].filter((r) => filters.every(([, key = "", fuzzy, value = ""]) => (fuzzy === "~" ? field(r, key).includes(value) : field(r, key) === value)));
        const page = Number(url.searchParams.get("page") ?? 1);
        const pageSize = Number(url.searchParams.get("page_size") ?? 10);
        const items = matching.slice((page - 1) * pageSize, page * pageSize).map((r) => this.#swagger(r));
        const extra: Record<string, string> = { "x-total-count": String(matching.length) };
        if (page * pageSize < matching.length) extra.link = `<${HARBOR_BASE_PATH}/robots?page=${page + 1}&page_size=${pageSize}>; rel="next"`;
        return ok(200, items, extra);
      }
      case "GET /api/v2.0/robots/{robot_id}":
        return robot === undefined ? notFound() : ok(200, this.#swagger(robot));
      case "PUT /api/v2.0/robots/{robot_id}": {
        if (robot === undefined) return notFound();
        if (b.name !== robot.name || b.level !== robot.level) return error(400, "BAD_REQUEST", "cannot update the level or name of robot");
        if (typeof b.duration === "number" && b.duration !== robot.duration) {
          if (b.duration < -1) return error(400, "BAD_REQUEST", `bad request error duration input: ${b.duration}, duration must be either -1(Never) or a positive integer`);
          robot.duration = b.duration;
          robot.expiresAt = this.#expiry(b.duration, Date.parse(robot.creationTime));
        }
        if (typeof b.description === "string") robot.description = b.description;
        if (typeof b.disable === "boolean") robot.disable = b.disable;
        if (Array.isArray(b.permissions) && b.permissions.length > 0) robot.permissions = structuredClone(b.permissions);
        robot.updateTime = new Date(this.now).toISOString();
        await this.#sync(robot);
        return ok(200);
      }
      case "PATCH /api/v2.0/robots/{robot_id}": {
        if (robot === undefined) return notFound();
        const given = typeof b.secret === "string" && b.secret !== "" ? b.secret : undefined;
        if (given !== undefined && !isValidHarborSecret(given)) return error(400, "BAD_REQUEST", SECRET_RULE);
        robot.secret = given ?? generateSecret();
        robot.updateTime = new Date(this.now).toISOString();
        await this.#sync(robot);
        // Harbor returns the secret only when it generated it; RobotSec's secret is omitempty.
        return ok(200, given === undefined ? { secret: robot.secret } : {});
      }
      case "DELETE /api/v2.0/robots/{robot_id}": {
        if (robot === undefined) return notFound();
        this.#robots.delete(robot.id);
        await this.#sync(robot);
        return ok(200);
      }
      default:
        return error(404, "NOT_FOUND", `no route for ${req.method} ${url.pathname}`);
    }
  }

  /** The robot as Harbor's GET answers it (no secret). */
  #swagger(r: StoredRobot): Record<string, unknown> {
    return {
      id: r.id,
      name: r.name,
      description: r.description,
      level: r.level,
      disable: r.disable,
      duration: r.duration,
      expires_at: r.expiresAt,
      editable: true,
      creator_type: "local",
      creator_ref: 1,
      creation_time: r.creationTime,
      update_time: r.updateTime,
      permissions: structuredClone(r.permissions),
    };
  }

  #parse(auth: string | undefined): HarborLogin | undefined {
    const m = /^Basic (.+)$/i.exec(auth ?? "");
    if (m?.[1] === undefined) return undefined;
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }

  #authorized(auth: string | undefined): boolean {
    const login = this.#parse(auth);
    return login !== undefined && login.username === this.admin.username && login.password === this.admin.password;
  }

  #known(auth: string | undefined): boolean {
    const login = this.#parse(auth);
    return login !== undefined && this.others.some((o) => o.username === login.username && o.password === login.password);
  }
}

/** What useFakeHarbor sets up; read its fields inside tests and hooks. */
export interface FakeHarborWorld {
  readonly harbor: FakeHarbor;
  readonly registry: CredentialRegistry;
  readonly admin: HarborLogin;
}

export const HARBOR_ADMIN: HarborLogin = { username: "admin", password: "Harbor12345-admin" };

/**
 * Registers hooks: a credential registry and a FakeHarbor for the test file (started before all,
 * stopped after all); before each test every robot is deleted and the admin, quota and clock are
 * back to `options`; after each, the test fails on any violation or unconsumed scripted failure.
 */
export function useFakeHarbor(options: Omit<FakeHarborOptions, "registry" | "admin"> & { admin?: HarborLogin } = {}): FakeHarborWorld {
  const admin = options.admin ?? HARBOR_ADMIN;
  return useProviderFake(
    "useFakeHarbor",
    async (registry) => {
      const harbor = await FakeHarbor.start({ ...options, registry, admin });
      return { fake: harbor, world: { harbor, registry, admin } };
    },
    {
      stop: (harbor) => harbor.close(),
      before: async (harbor) => {
        await harbor.reset();
        harbor.admin = admin;
        harbor.maxRobots = options.maxRobots ?? Number.POSITIVE_INFINITY;
      },
      after: expectClean,
    },
  );
}
