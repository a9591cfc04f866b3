/** Fake Harbor HTTP server: spec-checked robot-account routes, Basic auth, quota, clock and registry sync. */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CredentialRegistry } from "./credential-registry.js";
import {
  type FakeHarborOptions,
  generateSecret,
  HARBOR_BASE_PATH,
  type HarborLogin,
  type HarborRequest,
  type HarborRobot,
  harborSwagger,
  isValidHarborSecret,
  NAME,
  parseBasicLogin,
  ROBOT_QUOTA_MESSAGE,
  robotView,
  SECRET_RULE,
  type StoredRobot,
} from "./fake-harbor-robots.js";
import { type LocalServer, type Received, startServer } from "./http.js";
import { FailureScript, type ScriptedFailure, jsonSender, parseBody, redactAuthorization, redactFields } from "./provider-fake.js";
import { loadProviderSpec } from "./provider-spec.js";

const spec = () => loadProviderSpec("harbor");

export class FakeHarbor {
  readonly requests: HarborRequest[] = [];
  /** Departures from the description (requests, and the stand-in's own answers); a correct client leaves this empty. */
  readonly violations: string[] = [];
  admin: HarborLogin;
  others: readonly HarborLogin[];
  maxRobots: number;
  defaultDurationDays: number;
  /** Harbor's projects: name → project_id. */
  projects: Readonly<Record<string, number>>;
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
    this.projects = options.projects ?? { library: 1 };
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
    return [...this.#robots.values()].map((r) => robotView(r));
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
        const projectId = level === "project" ? this.projects[String(first.namespace)] : 0;
        if (projectId === undefined) return error(404, "NOT_FOUND", `project ${String(first.namespace)} not found`);
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
          projectId,
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
        const keyword = (key: string): string | undefined => filters.find(([, k]) => k === key)?.[3];
        // Harbor's ListRobot: no Level lists system robots only; Level=project needs ProjectID.
        const level = keyword("Level") ?? "system";
        if (level !== "system" && level !== "project") return error(400, "BAD_REQUEST", "bad request error level input");
        const projectId = level === "project" ? Number(keyword("ProjectID")) : 0;
        if (level === "project" && keyword("ProjectID") === undefined) return error(400, "BAD_REQUEST", "must with project ID when to query project robots");
        if (!Number.isInteger(projectId)) return error(400, "BAD_REQUEST", "Project ID must be int type.");
        // Harbor's table holds the name without the robot$ prefix (library+pk-blue); q matches that.
        const stored = (r: StoredRobot): string => r.name.replace(/^robot\$/, "");
        const field = (r: StoredRobot, key: string): string => (key === "name" ? stored(r) : key === "disable" ? String(r.disable) : "");
        const matching = [...this.#robots.values()].filter(
          (r) => r.level === level && r.projectId === projectId && filters.filter(([, key]) => key !== "Level" && key !== "ProjectID").every(([, key = "", fuzzy, value = ""]) => (fuzzy === "~" ? field(r, key).includes(value) : field(r, key) === value)),
        );
        const page = Number(url.searchParams.get("page") ?? 1);
        const pageSize = Number(url.searchParams.get("page_size") ?? 10);
        const items = matching.slice((page - 1) * pageSize, page * pageSize).map((r) => harborSwagger(r));
        const extra: Record<string, string> = { "x-total-count": String(matching.length) };
        if (page * pageSize < matching.length) {
          // Harbor's Links keep the request's query, q included, with the next page.
          const next = new URLSearchParams(url.searchParams);
          next.set("page", String(page + 1));
          next.set("page_size", String(pageSize));
          extra.link = `<${HARBOR_BASE_PATH}/robots?${next.toString()}>; rel="next"`;
        }
        return ok(200, items, extra);
      }
      case "GET /api/v2.0/projects/{project_name_or_id}": {
        const key = decodeURIComponent(path.slice("/projects/".length));
        // Without X-Is-Resource-Name, a numeric key is an id (Harbor's rule).
        const byName = String(req.headers["x-is-resource-name"]).toLowerCase() === "true" || !/^\d+$/.test(key);
        const entry = Object.entries(this.projects).find(([name, pid]) => (byName ? name === key : String(pid) === key));
        if (entry === undefined) return error(404, "NOT_FOUND", `project ${key} not found`);
        return ok(200, { project_id: entry[1], name: entry[0] });
      }
      case "GET /api/v2.0/robots/{robot_id}":
        return robot === undefined ? notFound() : ok(200, harborSwagger(robot));
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

  #authorized(auth: string | undefined): boolean {
    const login = parseBasicLogin(auth);
    return login !== undefined && login.username === this.admin.username && login.password === this.admin.password;
  }

  #known(auth: string | undefined): boolean {
    const login = parseBasicLogin(auth);
    return login !== undefined && this.others.some((o) => o.username === login.username && o.password === login.password);
  }
}
