import type { Credential } from "../../model/credential.js";
import { ProviderError, type ProviderHttp, providerFailure, type ProviderResponse } from "../../model/provider-api.js";
import { type HarborRobotSource, robotLogin } from "./source.js";

/** Harbor's robot-account API, the calls the source makes (goharbor/harbor api/v2.0/swagger.yaml). */

/** The limiter's bucket for Harbor's API. */
export const HARBOR_PROVIDER = "harbor-api";

const DAY = 86_400;

/** A robot as Harbor lists it (never its secret): what a PUT sends back, changed. */
export interface HarborRobot {
  readonly id: number;
  readonly name: string;
  readonly disable: boolean;
  readonly duration?: number | null;
  /** Epoch seconds; -1 never. */
  readonly expires_at: number;
  readonly creation_time: string;
  readonly [field: string]: unknown;
}

/** Harbor has no robot quota of its own; one in front of it (or a later Harbor) answers 403 saying "quota". */
const quotaReached = (r: ProviderResponse): boolean => r.status === 403 && /quota|limit/i.test(messageOf(r.body));

function messageOf(body: unknown): string {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.map((e) => String((e as { message?: unknown }).message ?? "")).join(" ") : "";
}

const isRobot = (r: unknown): r is HarborRobot => typeof r === "object" && r !== null && Number.isInteger((r as HarborRobot).id) && typeof (r as HarborRobot).name === "string";

/** One admin session (Basic auth on every call) over the robots of the source's project, or the system robots. */
export class HarborApi {
  readonly #source: HarborRobotSource;
  readonly #http: ProviderHttp;
  readonly #now: () => number;
  readonly #base: string;
  readonly #authorization: string;
  #projectId: number | undefined;

  constructor(source: HarborRobotSource, http: ProviderHttp, admin: Credential, now: () => number) {
    this.#source = source;
    this.#http = http;
    this.#now = now;
    this.#base = `${source.api.replace(/\/+$/, "").replace(/\/api\/v2\.0$/, "")}/api/v2.0`;
    this.#authorization = `Basic ${Buffer.from(`${admin.username}:${admin.password.reveal()}`).toString("base64")}`;
  }

  /** The robot `name` of the source's project (or the system robot), if Harbor has it. */
  async find(name: string): Promise<HarborRobot | undefined> {
    const login = robotLogin(this.#source, name);
    // Harbor lists system robots unless asked for a project's, by its id.
    const scope = this.#source.project !== undefined ? `Level=project,ProjectID=${await this.#project()},` : "";
    let url: string | undefined = `${this.#base}/robots?${new URLSearchParams({ q: `${scope}name=~${name}`, page: "1", page_size: "100" }).toString()}`;
    for (let pages = 0; url !== undefined && pages < 20; pages++) {
      const response = await this.#call("GET", url);
      if (response.status !== 200 || !Array.isArray(response.body)) throw this.#failure("list robots", response);
      const found = (response.body as unknown[]).filter(isRobot).find((r) => r.name === login);
      if (found !== undefined) return found;
      url = this.#next(response.headers.link);
    }
    return undefined;
  }

  /** Creates the pull-only robot `name`, living `lifetime`; its secret is shown this once. Undefined when it exists already. */
  async create(name: string, description: string): Promise<{ id: number; name: string; secret: string } | undefined> {
    const { project } = this.#source;
    const json = {
      name,
      description,
      level: project !== undefined ? "project" : "system",
      disable: false,
      duration: this.#days(),
      permissions: [{ kind: "project", namespace: project ?? "*", access: [{ resource: "repository", action: "pull" }] }],
    };
    const response = await this.#call("POST", `${this.#base}/robots`, json);
    if (response.status === 409) return undefined;
    const created = response.body as { id?: unknown; name?: unknown; secret?: unknown } | undefined;
    if (response.status !== 201) throw this.#failure("create a robot", response);
    if (!Number.isInteger(created?.id) || created?.name !== robotLogin(this.#source, name) || typeof created.secret !== "string" || created.secret === "") {
      throw new ProviderError("provider_refused", `Harbor: create a robot: HTTP 201 without the robot's id, login or secret`);
    }
    return { id: created.id as number, name: created.name, secret: created.secret };
  }

  /** Enables the robot and makes it live `lifetime` from now (Harbor counts a duration from the robot's creation). */
  async renew(robot: HarborRobot): Promise<void> {
    const created = Date.parse(robot.creation_time);
    const wanted = Math.floor(this.#now() / 1000) + this.#source.lifetime;
    const short = robot.expires_at !== -1 && robot.expires_at < wanted;
    if (!robot.disable && !short) return;
    const duration = short && !Number.isNaN(created) ? Math.ceil((wanted * 1000 - created) / (DAY * 1000)) : robot.duration;
    const response = await this.#call("PUT", this.#robotUrl(robot.id), { ...robot, disable: false, duration });
    if (response.status !== 200) throw this.#failure("update a robot", response);
  }

  /** Replaces the robot's secret with one Harbor makes; the old one stops working at once. Undefined when the robot is gone. */
  async refresh(id: number): Promise<string | undefined> {
    const response = await this.#call("PATCH", this.#robotUrl(id), {});
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.#failure("refresh a robot's secret", response);
    const secret = (response.body as { secret?: unknown } | undefined)?.secret;
    if (typeof secret !== "string" || secret === "") throw new ProviderError("provider_refused", "Harbor: refresh a robot's secret: HTTP 200 without the secret");
    return secret;
  }

  /** The project's id, once per session (a project robot's list needs it). */
  async #project(): Promise<number> {
    if (this.#projectId !== undefined) return this.#projectId;
    const project = this.#source.project ?? "";
    const response = await this.#call("GET", `${this.#base}/projects/${encodeURIComponent(project)}`, undefined, { "x-is-resource-name": "true" });
    const id = (response.body as { project_id?: unknown } | undefined)?.project_id;
    if (response.status === 404) throw new ProviderError("provider_refused", `Harbor: look up the project: HTTP 404: no project ${project}, or the admin cannot see it`);
    if (response.status !== 200 || typeof id !== "number" || !Number.isInteger(id)) throw this.#failure("look up the project", response);
    return (this.#projectId = id);
  }

  #days(): number {
    return Math.ceil(this.#source.lifetime / DAY);
  }

  #robotUrl(id: number): string {
    return `${this.#base}/robots/${id}`;
  }

  /** The Link header's next page, only within the API: elsewhere it would carry the admin's login. */
  #next(link: string | undefined): string | undefined {
    const target = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link ?? "")?.[1];
    if (target === undefined) return undefined;
    const url = new URL(target, `${this.#base}/`).toString();
    return url.startsWith(`${this.#base}/`) ? url : undefined;
  }

  #call(method: "GET" | "POST" | "PUT" | "PATCH", url: string, json?: unknown, headers: Record<string, string> = {}): Promise<ProviderResponse> {
    return this.#http.request(HARBOR_PROVIDER, { method, url, headers: { authorization: this.#authorization, ...headers }, ...(json !== undefined && { json }) });
  }

  #failure(what: string, response: ProviderResponse): ProviderError {
    return providerFailure("Harbor", what, response, { quota: quotaReached, nowMs: this.#now() });
  }
}
