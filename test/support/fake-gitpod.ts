import type { ServerResponse } from "node:http";
import { fixture } from "./fixtures.js";
import type { Received } from "./http.js";

/** The personal access token the fake accepts unless told another. */
export const GITPOD_TEST_TOKEN = "gitpod_pat_TESTTOKEN.0123456789abcdef";

const FIXTURE = {
  listProject: fixture<Record<string, unknown>>("gitpod/secretservice.ListSecrets.request.project-scope.doc-example.json"),
  create: fixture<Record<string, unknown>>("gitpod/secretservice.CreateSecret.request.registry-auth.doc-example.json"),
  update: fixture<Record<string, unknown>>("gitpod/secretservice.UpdateSecretValue.request.doc-example.json"),
  listEnvironments: fixture<Record<string, unknown>>("gitpod/environmentservice.ListEnvironments.request.running-for-project.doc-example.json"),
};

/** ListEnvironments' documented filter fields (gitpod-sdk EnvironmentListParams.Filter) and phases. */
const ENVIRONMENT_FILTER_KEYS = new Set(["archivalStatus", "createdBefore", "creatorIds", "projectIds", "roles", "runnerIds", "runnerKinds", "statusPhases"]);
export const ENVIRONMENT_PHASES = [
  "ENVIRONMENT_PHASE_UNSPECIFIED",
  "ENVIRONMENT_PHASE_CREATING",
  "ENVIRONMENT_PHASE_STARTING",
  "ENVIRONMENT_PHASE_RUNNING",
  "ENVIRONMENT_PHASE_UPDATING",
  "ENVIRONMENT_PHASE_STOPPING",
  "ENVIRONMENT_PHASE_STOPPED",
  "ENVIRONMENT_PHASE_DELETING",
  "ENVIRONMENT_PHASE_DELETED",
] as const;

/** A `gitpod.v1.Environment` as ListEnvironments / GetEnvironment return it (the fields the SDK documents). */
export interface FakeGitpodEnvironment {
  id: string;
  metadata: { name?: string; projectId?: string; organizationId?: string; creator?: { id: string; principal: string }; createdAt?: string; lastStartedAt?: string };
  spec: { desiredPhase?: string; secrets?: { id?: string; name?: string; session?: string; containerRegistryBasicAuthHost?: string; source?: string; sourceRef?: string }[] };
  status: { phase: string; secrets?: { id?: string; secretName?: string; session?: string; phase?: string; failureMessage?: string; warningMessage?: string }[] };
}

export interface EnvironmentOptions {
  readonly id: string;
  readonly phase?: string;
  readonly projectId?: string;
  readonly creatorId?: string;
  readonly name?: string;
  readonly lastStartedAt?: string;
  readonly createdAt?: string;
  /** The registry secret it loaded: name, the session it holds, and the session Gitpod now has (default the same). */
  readonly secret?: { readonly name: string; readonly session: string; readonly specSession?: string; readonly phase?: string; readonly failureMessage?: string };
}

export function gitpodEnvironment(o: EnvironmentOptions): FakeGitpodEnvironment {
  const secretId = "d2c94c27-3b76-4a42-b88c-95a85e392c68";
  return {
    id: o.id,
    metadata: {
      ...(o.name === undefined ? {} : { name: o.name }),
      ...(o.projectId === undefined ? {} : { projectId: o.projectId }),
      organizationId: "b0e12f6c-4c67-429d-a4a6-d9838b5da041",
      creator: { id: o.creatorId ?? "f53d2330-3795-4c5d-a1f3-453121af9c60", principal: "PRINCIPAL_USER" },
      createdAt: o.createdAt ?? "2026-02-01T09:00:00Z",
      ...(o.lastStartedAt === undefined ? {} : { lastStartedAt: o.lastStartedAt }),
    },
    spec: {
      desiredPhase: "ENVIRONMENT_PHASE_RUNNING",
      ...(o.secret === undefined
        ? {}
        : { secrets: [{ id: secretId, name: o.secret.name, session: o.secret.specSession ?? o.secret.session, containerRegistryBasicAuthHost: "https://quay.io", source: "control-plane", sourceRef: secretId }] }),
    },
    status: {
      phase: o.phase ?? "ENVIRONMENT_PHASE_RUNNING",
      ...(o.secret === undefined
        ? {}
        : {
            secrets: [
              {
                id: secretId,
                secretName: o.secret.name,
                session: o.secret.session,
                phase: o.secret.phase ?? "CONTENT_PHASE_READY",
                ...(o.secret.failureMessage === undefined ? {} : { failureMessage: o.secret.failureMessage }),
              },
            ],
          }),
    },
  };
}

export interface StoredGitpodSecret {
  id: string;
  name: string;
  scope: Record<string, string>;
  value: string;
  containerRegistryBasicAuthHost?: string;
  environmentVariable?: boolean;
}

export interface GitpodFailure {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  readonly hang?: boolean;
}

/** A Gitpod public API double: checks every request the way the real one would have to accept it. */
export class FakeGitpod {
  readonly secrets: StoredGitpodSecret[] = [];
  readonly environments: FakeGitpodEnvironment[] = [];
  /** false: ListEnvironments ignores the filter (as an older or buggy server might) and lists everything. */
  honourFilters = true;
  readonly failures: GitpodFailure[] = [];
  /** Answers the n-th request (1-based, counted over the fake's life) with this instead. */
  readonly failAt = new Map<number, GitpodFailure>();
  #requestCount = 0;
  readonly violations: string[] = [];
  pageSize = 2;
  #nextId = 1;
  /** The token it accepts. */
  readonly token: string;

  constructor(token: string = GITPOD_TEST_TOKEN) {
    this.token = token;
  }

  handle(req: Received, res: ServerResponse): void {
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    const check = (ok: boolean, what: string): void => {
      if (!ok) this.violations.push(`${req.url}: ${what}`);
    };
    check(req.method === "POST", `method ${req.method}, expected POST`);
    check(req.headers["content-type"] === "application/json", `content-type ${req.headers["content-type"]}`);
    check(req.headers["connect-protocol-version"] === "1", "missing Connect-Protocol-Version: 1");
    this.#requestCount += 1;
    const failure = this.failAt.get(this.#requestCount) ?? this.failures.shift();
    if (failure?.hang) return; // never answers
    if (failure !== undefined) return answer(failure.status, failure.body, failure.headers);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return answer(401, { code: "unauthenticated", message: "invalid or expired personal access token" });
    }
    const match = /^\/api\/gitpod\.v1\.(SecretService|EnvironmentService)\/(\w+)$/.exec(req.url);
    if (match === null) return answer(404, { code: "unimplemented", message: `no such procedure ${req.url}` });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return answer(400, { code: "invalid_argument", message: "body is not JSON" });
    }
    switch (`${match[1]}/${match[2]}`) {
      case "EnvironmentService/ListEnvironments":
        return this.#listEnvironments(body, answer, check);
      case "EnvironmentService/GetEnvironment":
      case "EnvironmentService/StopEnvironment": {
        check(JSON.stringify(Object.keys(body)) === JSON.stringify(["environmentId"]), `${match[2]} takes exactly { environmentId }, got ${Object.keys(body).join(",")}`);
        const environment = this.environments.find((e) => e.id === body.environmentId);
        if (environment === undefined) return answer(404, { code: "not_found", message: `environment ${String(body.environmentId)} not found` });
        if (match[2] === "GetEnvironment") return answer(200, { environment });
        environment.status.phase = "ENVIRONMENT_PHASE_STOPPING";
        environment.spec.desiredPhase = "ENVIRONMENT_PHASE_STOPPED";
        return answer(200, {});
      }
      case "SecretService/ListSecrets":
        return this.#list(body, answer, check);
      case "SecretService/CreateSecret":
        return this.#create(body, answer, check);
      case "SecretService/UpdateSecretValue":
        return this.#update(body, answer, check);
      default:
        return answer(404, { code: "unimplemented", message: `unknown method ${match[2]}` });
    }
  }

  #list(body: Record<string, unknown>, answer: (s: number, b: unknown) => void, check: (ok: boolean, what: string) => void): void {
    // Same top-level and nested keys as the documented request.
    check(sameKeys(body, FIXTURE.listProject), `ListSecrets keys ${Object.keys(body).join(",")}`);
    const filter = body.filter as { scope?: Record<string, string> } | undefined;
    const scope = filter?.scope;
    check(scope !== undefined && Object.keys(scope).length === 1, "ListSecrets needs exactly one filter.scope id");
    const pagination = body.pagination as { pageSize?: unknown; token?: unknown } | undefined;
    check(typeof pagination?.pageSize === "number", "pagination.pageSize must be a number");
    const inScope = this.secrets.filter((s) => JSON.stringify(s.scope) === JSON.stringify(scope));
    const start = typeof pagination?.token === "string" ? Number(pagination.token) : 0;
    const page = inScope.slice(start, start + this.pageSize);
    const next = start + this.pageSize < inScope.length ? String(start + this.pageSize) : "";
    answer(200, {
      pagination: { nextToken: next },
      secrets: page.map((s) => ({
        id: s.id,
        name: s.name,
        ...("projectId" in s.scope ? { projectId: s.scope.projectId } : {}),
        scope: s.scope,
        createdAt: "2026-01-02T03:04:05Z",
        ...(s.containerRegistryBasicAuthHost === undefined ? {} : { containerRegistryBasicAuthHost: s.containerRegistryBasicAuthHost }),
        ...(s.environmentVariable ? { environmentVariable: true } : {}),
      })),
    });
  }

  #listEnvironments(body: Record<string, unknown>, answer: (s: number, b: unknown) => void, check: (ok: boolean, what: string) => void): void {
    // The documented request's shape, with any documented filter fields.
    check(Object.keys(body).every((k) => k in FIXTURE.listEnvironments), `ListEnvironments keys ${Object.keys(body).join(",")}`);
    const filter = (body.filter ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(filter)) {
      check(ENVIRONMENT_FILTER_KEYS.has(key), `ListEnvironments filter.${key} is not a documented filter`);
      check(Array.isArray(value) || key === "archivalStatus" || key === "createdBefore", `filter.${key} must be a list`);
    }
    const phases = filter.statusPhases as unknown[] | undefined;
    for (const phase of phases ?? []) check((ENVIRONMENT_PHASES as readonly unknown[]).includes(phase), `filter.statusPhases: ${String(phase)} is not a phase`);
    const pagination = body.pagination as { pageSize?: unknown; token?: unknown } | undefined;
    check(typeof pagination?.pageSize === "number", "pagination.pageSize must be a number");
    check(pagination?.token === undefined || typeof pagination.token === "string", "pagination.token must be a string");
    const projectIds = filter.projectIds as string[] | undefined;
    const creatorIds = filter.creatorIds as string[] | undefined;
    const matching = this.environments.filter(
      (e) =>
        !this.honourFilters ||
        (projectIds === undefined || projectIds.includes(e.metadata.projectId ?? "")) &&
        (creatorIds === undefined || creatorIds.includes(e.metadata.creator?.id ?? "")) &&
        (phases === undefined || phases.includes(e.status.phase)),
    );
    const start = typeof pagination?.token === "string" ? Number(pagination.token) : 0;
    const page = matching.slice(start, start + this.pageSize);
    const next = start + this.pageSize < matching.length ? String(start + this.pageSize) : "";
    answer(200, { environments: page, pagination: { nextToken: next } });
  }

  #create(body: Record<string, unknown>, answer: (s: number, b: unknown) => void, check: (ok: boolean, what: string) => void): void {
    for (const key of Object.keys(FIXTURE.create).filter((k) => k !== "projectId")) check(key in body, `CreateSecret lacks ${key}`);
    // A project by its documented top-level projectId, or any scope by `scope`.
    check(typeof body.projectId === "string" || (typeof body.scope === "object" && body.scope !== null), "CreateSecret names no projectId and no scope");
    if (typeof body.projectId === "string" && body.scope !== undefined) check(JSON.stringify(body.scope) === JSON.stringify({ projectId: body.projectId }), "projectId and scope disagree");
    check(typeof body.value === "string" && typeof body.name === "string" && typeof body.containerRegistryBasicAuthHost === "string", "CreateSecret field types");
    check(body.environmentVariable === undefined && body.filePath === undefined, "a registry secret is neither env var nor file");
    const scope = (body.scope as Record<string, string> | undefined) ?? { projectId: String(body.projectId) };
    if (this.secrets.some((s) => s.name === body.name && JSON.stringify(s.scope) === JSON.stringify(scope))) {
      return answer(409, { code: "already_exists", message: "secret already exists" });
    }
    const secret: StoredGitpodSecret = { id: `secret-${this.#nextId++}`, name: String(body.name), scope, value: String(body.value), containerRegistryBasicAuthHost: String(body.containerRegistryBasicAuthHost) };
    this.secrets.push(secret);
    answer(200, { secret: { id: secret.id, name: secret.name } });
  }

  #update(body: Record<string, unknown>, answer: (s: number, b: unknown) => void, check: (ok: boolean, what: string) => void): void {
    check(sameKeys(body, FIXTURE.update), `UpdateSecretValue keys ${Object.keys(body).join(",")}`);
    const secret = this.secrets.find((s) => s.id === body.secretId);
    if (secret === undefined) return answer(404, { code: "not_found", message: `secret ${String(body.secretId)} not found` });
    secret.value = String(body.value);
    answer(200, {});
  }

  seed(secret: Omit<StoredGitpodSecret, "id">): StoredGitpodSecret {
    const stored = { ...secret, id: `secret-${this.#nextId++}` };
    this.secrets.push(stored);
    return stored;
  }
}

function sameKeys(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = (o: Record<string, unknown>): string[] =>
    Object.entries(o)
      .flatMap(([k, v]) => (typeof v === "object" && v !== null && !Array.isArray(v) && k !== "scope" ? [k, ...keys(v as Record<string, unknown>).map((n) => `${k}.${n}`)] : [k]))
      .filter((k) => k !== "pagination.token")
      .sort();
  return JSON.stringify(keys(a)) === JSON.stringify(keys(b));
}
