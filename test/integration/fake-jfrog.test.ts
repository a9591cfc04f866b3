import { describe, expect, it } from "vitest";
import { useFakeJFrog } from "../support/fake-jfrog.js";
import type { RegistryLogin } from "../support/registry.js";
import { expectResetAndHang, expectScriptedStatuses } from "../support/provider-fake-tests.js";

const world = useFakeJFrog();

type Body = { json: unknown } | { form: Record<string, string> };

async function api(method: string, path: string, options: { body?: Body; token?: string | null; signal?: AbortSignal } = {}): Promise<Response> {
  const token = options.token === undefined ? world.adminToken : options.token;
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  let body: string | undefined;
  if (options.body !== undefined && "json" in options.body) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.body.json);
  } else if (options.body !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(options.body.form).toString();
  }
  return fetch(`${world.jfrog.url}/access/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }), signal: options.signal ?? AbortSignal.timeout(5_000) });
}

interface Created {
  token_id: string;
  access_token: string;
  expires_in?: number;
  scope: string;
  token_type: string;
  refresh_token?: string;
}

async function created(body: Body): Promise<Created> {
  const response = await api("POST", "/tokens", { body });
  expect(response.status).toBe(200);
  return (await response.json()) as Created;
}

async function registryAnswers(login: RegistryLogin | undefined, expected: number): Promise<number> {
  if (login === undefined) throw new Error("no registry login");
  const deadline = Date.now() + 5_000;
  for (;;) {
    const status = await world.registry.basic(login.username, login.password);
    if (status === expected || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the JFrog stand-in", () => {
  it("installs two tokens of one user at once (form and JSON), each a login of that user; revoking one closes the registry to it only", async () => {
    const a = await created({ form: { username: "ci-pull", scope: "applied-permissions/user", expires_in: "3600", description: "pullkeeper a" } });
    const b = await created({ json: { username: "ci-pull", expires_in: 3600, description: "pullkeeper b" } });
    expect(a).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "applied-permissions/user" });
    const loginA = world.jfrog.registryLoginFor(a.token_id);
    const loginB = world.jfrog.registryLoginFor(b.token_id);
    expect(loginA).toEqual({ username: "ci-pull", password: a.access_token });
    expect(loginB).toEqual({ username: "ci-pull", password: b.access_token });
    expect(await registryAnswers(loginA, 200)).toBe(200);
    expect(await registryAnswers(loginB, 200)).toBe(200);

    const listed = (await (await api("GET", "/tokens?description=pullkeeper*&username=ci-pull")).json()) as { tokens: { token_id: string }[] };
    expect(listed.tokens.map((t) => t.token_id).sort()).toEqual([a.token_id, b.token_id].sort());
    expect(JSON.stringify(listed)).not.toContain(a.access_token);

    const revoked = await api("DELETE", `/tokens/${a.token_id}`);
    expect(revoked.status).toBe(200);
    expect(await registryAnswers(loginA, 401)).toBe(401);
    expect(await registryAnswers(loginB, 200)).toBe(200);
    expect((await api("DELETE", `/tokens/${a.token_id}`)).status).toBe(204);
    expect((await api("GET", `/tokens/${a.token_id}`)).status).toBe(404);
    expect(await (await api("GET", `/tokens/${b.token_id}`)).json()).toMatchObject({ token_id: b.token_id, subject: expect.stringMatching(/\/users\/ci-pull$/), refreshable: false });
  });

  it("expires a token when the clock passes issued_at + expires_in, and never one with expires_in 0", async () => {
    const now = world.jfrog.now;
    const short = await created({ form: { expires_in: "60", description: "short" } });
    const long = await created({ form: { expires_in: "7200", description: "long" } });
    const forever = await created({ json: { expires_in: 0, description: "forever" } });
    expect(forever.expires_in).toBeUndefined();
    expect(await registryAnswers(world.jfrog.registryLoginFor(short.token_id), 200)).toBe(200);

    await world.jfrog.tick(now + 61_000);
    expect(await registryAnswers(world.jfrog.registryLoginFor(short.token_id), 401)).toBe(401);
    expect(await registryAnswers(world.jfrog.registryLoginFor(long.token_id), 200)).toBe(200);

    await world.jfrog.tick(now + 365 * 86_400_000);
    expect(await registryAnswers(world.jfrog.registryLoginFor(long.token_id), 401)).toBe(401);
    expect(await registryAnswers(world.jfrog.registryLoginFor(forever.token_id), 200)).toBe(200);
  });

  it("refreshes a refreshable token into a new token id, revoking the previous one", async () => {
    const first = await created({ form: { refreshable: "true", expires_in: "3600", description: "refresh" } });
    expect(first.refresh_token).toBeDefined();
    const next = await created({ form: { grant_type: "refresh_token", refresh_token: first.refresh_token ?? "" } });
    expect(next.token_id).not.toBe(first.token_id);
    expect(await registryAnswers(world.jfrog.registryLoginFor(next.token_id), 200)).toBe(200);
    expect(await registryAnswers(world.jfrog.registryLoginFor(first.token_id), 401)).toBe(401);
  });

  it("records what the description refuses: a negative expires_in, a scope over 500 characters, an undeclared query, a PUT", async () => {
    expect((await api("POST", "/tokens", { body: { form: { expires_in: "-5" } } })).status).toBe(400);
    expect((await api("POST", "/tokens", { body: { json: { scope: "x".repeat(501), expires_in: "3600" } } })).status).toBe(400);
    expect((await api("GET", "/tokens?limit=10")).status).toBe(400);
    expect((await api("PUT", "/tokens/abc")).status).toBe(404);
    expect(world.jfrog.takeViolations()).toEqual([
      "POST /access/api/v1/tokens: body/expires_in: must be >= 0",
      "POST /access/api/v1/tokens: body/expires_in: must be integer",
      "POST /access/api/v1/tokens: body/scope: must NOT have more than 500 characters",
      "GET /access/api/v1/tokens: query parameter limit is not declared by the operation",
      "PUT /access/api/v1/tokens/abc: the jfrog description has only DELETE, GET on this path",
    ]);
  });

  it("answers 401 to a wrong or missing bearer token and 403 to one without the permission, and mints nothing", async () => {
    const before = await world.registry.users();
    const wrong = await api("POST", "/tokens", { body: { form: { expires_in: "60" } }, token: "not-the-admin" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "Bad credentials" }] });
    expect((await api("GET", "/tokens", { token: null })).status).toBe(401);
    world.jfrog.limitedTokens.add("reader-token");
    expect((await api("POST", "/tokens", { body: { form: { expires_in: "60" } }, token: "reader-token" })).status).toBe(403);
    expect(await world.registry.users()).toEqual(before);
  });

  it("passes scripted failures to the client: 429 with and without Retry-After, 500, a reset connection, a hang", async () => {
    world.jfrog.failNext(
      { status: 429, headers: { "retry-after": "3" }, body: { errors: [{ code: "TOO_MANY_REQUESTS", message: "Too Many Requests" }] }, match: (r) => r.method === "POST" },
      { status: 429 },
      { status: 500 },
    );
    await expectScriptedStatuses(() => api("POST", "/tokens", { body: { form: { expires_in: "60" } } }), () => api("GET", "/tokens"), "3", 500);
    expect((await api("GET", "/tokens")).status).toBe(200);

    await expectResetAndHang(world.jfrog, (signal) => api("GET", "/tokens", signal === undefined ? {} : { signal }));
  });
});
