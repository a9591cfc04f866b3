import { describe, expect, it } from "vitest";
import { useFakeGitLab } from "../support/fake-gitlab.js";
import type { RegistryLogin } from "../support/registry.js";
import { expectResetAndHang, expectScriptedStatuses } from "../support/provider-fake-tests.js";

const world = useFakeGitLab();

async function api(method: string, path: string, options: { body?: unknown; token?: string | null; signal?: AbortSignal } = {}): Promise<Response> {
  const token = options.token === undefined ? world.adminToken : options.token;
  return fetch(`${world.gitlab.url}/api/v4${path}`, {
    method,
    headers: { ...(token === null ? {} : { "private-token": token }), ...(options.body === undefined ? {} : { "content-type": "application/json" }) },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: options.signal ?? AbortSignal.timeout(5_000),
  });
}

async function created(path: string, body: unknown): Promise<{ id: number; token: string; username?: string }> {
  const response = await api("POST", path, { body });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: number; token: string; username?: string };
}

/** The status GET /v2/ answers, polled until it is `expected` or 5 s have passed. */
async function registryAnswers(login: RegistryLogin | undefined, expected: number): Promise<number> {
  if (login === undefined) throw new Error("no registry login");
  const deadline = Date.now() + 5_000;
  for (;;) {
    const status = await world.registry.basic(login.username, login.password);
    if (status === expected || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

describe("the GitLab stand-in", () => {
  it("installs two project deploy tokens at once; deleting one closes the registry to it only", async () => {
    const a = await created("/projects/acme%2Fweb/deploy_tokens", { name: "pull-a", scopes: ["read_registry"] });
    const b = await created("/projects/acme%2Fweb/deploy_tokens", { name: "pull-b", scopes: ["read_registry"], expires_at: new Date(world.gitlab.now + 86_400_000).toISOString() });
    expect(a.username).toBe(`gitlab+deploy-token-${a.id}`);
    expect(world.gitlab.registryLoginFor(a.id)).toEqual({ username: a.username, password: a.token });
    expect(await registryAnswers(world.gitlab.registryLoginFor(a.id), 200)).toBe(200);
    expect(await registryAnswers(world.gitlab.registryLoginFor(b.id), 200)).toBe(200);

    const list = await api("GET", "/projects/acme%2Fweb/deploy_tokens?active=true");
    expect(list.status).toBe(200);
    const listed = (await list.json()) as Record<string, unknown>[];
    expect(listed.map((t) => t.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(JSON.stringify(listed)).not.toContain(a.token);

    expect((await api("DELETE", `/projects/acme%2Fweb/deploy_tokens/${a.id}`)).status).toBe(204);
    expect(await registryAnswers(world.gitlab.registryLoginFor(a.id), 401)).toBe(401);
    expect(await registryAnswers(world.gitlab.registryLoginFor(b.id), 200)).toBe(200);
    expect((await api("GET", `/projects/acme%2Fweb/deploy_tokens/${a.id}`)).status).toBe(404);
    expect(await world.registry.users()).not.toContain(a.username);
  });

  it("does not open the registry to a deploy token without read_registry", async () => {
    const t = await created("/groups/42/deploy_tokens", { name: "repo-only", scopes: ["read_repository"] });
    expect(world.gitlab.registryLoginFor(t.id)).toBeUndefined();
    expect(await world.registry.basic(`gitlab+deploy-token-${t.id}`, t.token)).toBe(401);
    expect(await world.registry.users()).not.toContain(`gitlab+deploy-token-${t.id}`);
  });

  it("gives each access token its own registry user; revoking one leaves the other working", async () => {
    const expires_at = day(world.gitlab.now + 30 * 86_400_000);
    const a = await created("/projects/7/access_tokens", { name: "a", scopes: ["api"], expires_at });
    const b = await created("/groups/acme/access_tokens", { name: "b", scopes: ["api"], expires_at, access_level: 20 });
    const loginA = world.gitlab.registryLoginFor(a.id);
    const loginB = world.gitlab.registryLoginFor(b.id);
    expect(loginA?.username).toMatch(/^project_7_bot_/);
    expect(loginB?.username).toMatch(/^group_\d+_bot_/);
    expect(await registryAnswers(loginA, 200)).toBe(200);
    expect(await registryAnswers(loginB, 200)).toBe(200);

    expect((await api("DELETE", `/projects/7/access_tokens/${a.id}`)).status).toBe(204);
    expect(await registryAnswers(loginA, 401)).toBe(401);
    expect(await registryAnswers(loginB, 200)).toBe(200);
    const got = await api("GET", `/projects/7/access_tokens/${a.id}`);
    expect(await got.json()).toMatchObject({ id: a.id, revoked: true, active: false });
  });

  it("expires deploy and access tokens when the clock passes their expiry", async () => {
    const now = world.gitlab.now;
    const soon = await created("/projects/9/deploy_tokens", { name: "soon", scopes: ["read_registry"], expires_at: new Date(now + 3_600_000).toISOString() });
    const later = await created("/projects/9/deploy_tokens", { name: "later", scopes: ["read_registry"], expires_at: new Date(now + 10 * 86_400_000).toISOString() });
    const access = await created("/projects/9/access_tokens", { name: "pat", scopes: ["api"], expires_at: day(now + 2 * 86_400_000) });
    expect(await registryAnswers(world.gitlab.registryLoginFor(soon.id), 200)).toBe(200);
    expect(await registryAnswers(world.gitlab.registryLoginFor(access.id), 200)).toBe(200);

    await world.gitlab.tick(now + 2 * 3_600_000);
    expect(await registryAnswers(world.gitlab.registryLoginFor(soon.id), 401)).toBe(401);
    expect(await registryAnswers(world.gitlab.registryLoginFor(access.id), 200)).toBe(200);
    expect(await (await api("GET", `/projects/9/deploy_tokens/${soon.id}`)).json()).toMatchObject({ expired: true });

    await world.gitlab.tick(now + 3 * 86_400_000);
    expect(await registryAnswers(world.gitlab.registryLoginFor(access.id), 401)).toBe(401);
    expect(await registryAnswers(world.gitlab.registryLoginFor(later.id), 200)).toBe(200);
  });

  it("lists a project's and a group's access tokens, by state, without their values", async () => {
    const expires_at = day(world.gitlab.now + 30 * 86_400_000);
    const v1 = await created("/projects/acme%2Flist/access_tokens", { name: "pullkeeper-v1", scopes: ["api"], expires_at });
    const v2 = await created("/projects/acme%2Flist/access_tokens", { name: "pullkeeper-v2", scopes: ["api"], expires_at });
    const other = await created("/projects/acme%2Fother/access_tokens", { name: "pullkeeper-v1", scopes: ["api"], expires_at });
    const g1 = await created("/groups/acme-list/access_tokens", { name: "pullkeeper-v1", scopes: ["api"], expires_at });
    const g2 = await created("/groups/acme-list/access_tokens", { name: "pullkeeper-v2", scopes: ["api"], expires_at });

    const list = async (path: string): Promise<Record<string, unknown>[]> => {
      const response = await api("GET", path);
      expect(response.status).toBe(200);
      return (await response.json()) as Record<string, unknown>[];
    };
    const project = await list("/projects/acme%2Flist/access_tokens");
    expect(project.map((t) => [t.id, t.name, t.active])).toEqual([
      [v1.id, "pullkeeper-v1", true],
      [v2.id, "pullkeeper-v2", true],
    ]);
    expect(project.every((t) => !("token" in t))).toBe(true);
    const group = await list("/groups/acme-list/access_tokens");
    expect(group.map((t) => t.id)).toEqual([g1.id, g2.id]);
    expect(group[0]).toMatchObject({ resource_type: "group", revoked: false });
    for (const secret of [v1.token, v2.token, other.token, g1.token, g2.token]) expect(JSON.stringify([project, group])).not.toContain(secret);

    // A source finds the token of an old version by name, then revokes it.
    const old = project.find((t) => t.name === "pullkeeper-v1");
    expect((await api("DELETE", `/projects/acme%2Flist/access_tokens/${String(old?.id)}`)).status).toBe(204);
    expect((await list("/projects/acme%2Flist/access_tokens?state=active")).map((t) => t.id)).toEqual([v2.id]);
    expect((await list("/projects/acme%2Flist/access_tokens?state=inactive")).map((t) => [t.id, t.revoked])).toEqual([[v1.id, true]]);
  });

  it("records what the description refuses: read_registry on an access token, an operation it does not have, a string group id", async () => {
    const refused = await api("POST", "/projects/7/access_tokens", { body: { name: "pull", scopes: ["read_registry"], expires_at: day(world.gitlab.now + 86_400_000) } });
    expect(refused.status).toBe(400);
    expect((await api("PUT", "/projects/7/access_tokens", { body: { name: "x" } })).status).toBe(404);
    expect((await api("POST", "/groups/acme/deploy_tokens", { body: { name: "x", scopes: ["read_registry"] } })).status).toBe(400);
    expect((await api("POST", "/projects/7/deploy_tokens", { body: { name: "x", scopes: ["read_registry"], expires_at: "tomorrow" } })).status).toBe(400);
    expect(world.gitlab.takeViolations()).toEqual([
      'POST /api/v4/projects/{id}/access_tokens: body/scopes/0: must be one of ["api","read_api","create_runner","manage_runner","k8s_proxy","self_rotate","read_repository","write_repository","read_observability","write_observability","ai_features"]',
      "PUT /api/v4/projects/7/access_tokens: the gitlab description has only GET, POST on this path",
      "POST /api/v4/groups/{id}/deploy_tokens: path parameter id: must be integer",
      'POST /api/v4/projects/{id}/deploy_tokens: body/expires_at: must match format "date-time"',
    ]);
    expect(await world.registry.users()).not.toContain("gitlab+deploy-token-x");
  });

  it("accepts read_registry on an access token only when told to follow GitLab's documentation", async () => {
    world.gitlab.allowDocumentedRegistryScopes = true;
    try {
      const t = await created("/projects/7/access_tokens", { name: "pull", scopes: ["read_registry"], expires_at: day(world.gitlab.now + 86_400_000) });
      expect(await registryAnswers(world.gitlab.registryLoginFor(t.id), 200)).toBe(200);
    } finally {
      world.gitlab.allowDocumentedRegistryScopes = false;
    }
  });

  it("opens the registry to an access token under its own name when told to (GitLab takes any username); revoking one leaves its namesake working", async () => {
    world.gitlab.accessTokenLogin = "name";
    try {
      const expires_at = day(world.gitlab.now + 86_400_000);
      const a = await created("/groups/acme/access_tokens", { name: "pullkeeper-v9", scopes: ["api"], expires_at });
      const b = await created("/groups/acme/access_tokens", { name: "pullkeeper-v9", scopes: ["api"], expires_at });
      expect(world.gitlab.registryLoginFor(a.id)).toEqual({ username: "pullkeeper-v9", password: a.token });
      expect(await registryAnswers(world.gitlab.registryLoginFor(a.id), 200)).toBe(200);
      expect(await registryAnswers(world.gitlab.registryLoginFor(b.id), 200)).toBe(200);
      expect((await api("DELETE", `/groups/acme/access_tokens/${a.id}`)).status).toBe(204);
      expect(await registryAnswers(world.gitlab.registryLoginFor(a.id), 401)).toBe(401);
      expect(await registryAnswers(world.gitlab.registryLoginFor(b.id), 200)).toBe(200);
    } finally {
      world.gitlab.accessTokenLogin = "bot";
    }
  });

  it("answers 401 to a wrong or missing admin token and 403 to one without the permission, and mints nothing", async () => {
    const before = await world.registry.users();
    const body = { name: "x", scopes: ["read_registry"] };
    const wrong = await api("POST", "/projects/7/deploy_tokens", { body, token: "glpat-wrong" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ message: "401 Unauthorized" });
    expect((await api("GET", "/projects/7/deploy_tokens", { token: null })).status).toBe(401);
    world.gitlab.limitedTokens.add("glpat-reporter");
    expect((await api("POST", "/projects/7/deploy_tokens", { body, token: "glpat-reporter" })).status).toBe(403);
    expect(await world.registry.users()).toEqual(before);
  });

  it("passes scripted failures to the client: 429 with and without Retry-After, 503, a reset connection, a hang", async () => {
    world.gitlab.failNext(
      { status: 429, headers: { "retry-after": "7" }, body: { message: "429 Too Many Requests" }, match: (r) => r.method === "POST" },
      { status: 429, body: { message: "429 Too Many Requests" } },
      { status: 503 },
    );
    await expectScriptedStatuses(() => api("POST", "/projects/7/deploy_tokens", { body: { name: "x", scopes: ["read_registry"] } }), () => api("GET", "/projects/7/deploy_tokens"), "7", 503);
    expect((await api("GET", "/projects/7/deploy_tokens")).status).toBe(200);

    await expectResetAndHang(world.gitlab, (signal) => api("GET", "/projects/7/deploy_tokens", signal === undefined ? {} : { signal }));
  });
});
