import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TOKEN_LIMIT_STATUS, useFakeDockerHub } from "../support/fake-dockerhub.js";

/** Tests of the Docker Hub stand-in itself, against the real docker-registry behind it. */
describe("the fake Docker Hub", () => {
  const world = useFakeDockerHub({ username: "pkadmin", secret: "admin-pass-7f3e", orgs: ["acme"] });
  /** Every console line written while a test runs: the fake must log no token value. */
  let logged: string[] = [];

  beforeEach(() => {
    logged = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => inspect(a)).join(" "));
      });
    }
    world.hub.maxTokens = undefined;
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  const call = async (method: string, path: string, options: { token?: string; body?: unknown; signal?: AbortSignal } = {}) => {
    const response = await fetch(`${world.hub.url}${path}`, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text === "" ? undefined : JSON.parse(text)) as Record<string, unknown> };
  };

  const login = async (): Promise<string> => {
    const r = await call("POST", "/v2/auth/token", { body: world.hub.adminLogin });
    expect(r.status).toBe(200);
    return String(r.body.access_token);
  };

  const mintPat = async (session: string, label: string, extra: Record<string, unknown> = {}) => {
    const r = await call("POST", "/v2/access-tokens", { token: session, body: { token_label: label, scopes: ["repo:read"], ...extra } });
    expect(r.status).toBe(201);
    return { uuid: String(r.body.uuid), token: String(r.body.token), body: r.body };
  };

  /** The status GET /v2/ of the real registry answers with this token's registry login. */
  const opens = async (token: string): Promise<number> => {
    const login = world.hub.registryLoginFor(token);
    expect(login).toBeDefined();
    return world.registry.basic(login?.username ?? "", login?.password ?? "");
  };

  /** The last request the registry's front passed on: the status is the registry's own answer, never the front's. */
  const lastForwarded = () => world.registry.forwarded.at(-1);

  it("mints personal access tokens that open the real registry; deleting one closes it while another still works", async () => {
    const session = await login();
    const a = await mintPat(session, "ci-a");
    const b = await mintPat(session, "ci-b");
    expect(a.token).toMatch(/^dckr_pat_/);
    expect(a.body).toMatchObject({ token_label: "ci-a", scopes: ["repo:read"], is_active: true });
    // Like Docker Hub: the account name is the username, whichever of its tokens is the password.
    expect(world.hub.registryLoginFor(a.token)).toEqual({ username: "pkadmin", password: a.token });
    expect(world.hub.registryLoginFor(b.token)).toEqual({ username: "pkadmin", password: b.token });
    expect(await opens(a.token)).toBe(200);
    expect(await opens(b.token)).toBe(200);
    const pushed = await world.registry.pushImage("pkadmin/app", "v1", { username: "pkadmin", password: b.token });
    expect(pushed).toMatch(/^sha256:[0-9a-f]{64}$/);

    const got = await call("GET", `/v2/access-tokens/${a.uuid}`, { token: session });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ uuid: a.uuid, token: "", is_active: true });

    const deleted = await call("DELETE", `/v2/access-tokens/${a.uuid}`, { token: session });
    expect(deleted.status).toBe(204);
    expect(await opens(a.token)).toBe(401);
    // Refused by the registry itself: the login reached it (as the deleted token's own htpasswd user, now gone).
    const refused = lastForwarded();
    expect(refused).toMatchObject({ method: "GET", path: "/v2/", status: 401 });
    expect(refused?.user).toMatch(/^pkadmin~\d+$/);
    expect(await world.registry.users()).not.toContain(refused?.user);
    expect(await opens(b.token)).toBe(200);
    expect(lastForwarded()?.user).toMatch(/^pkadmin~\d+$/);
    expect(lastForwarded()?.user).not.toBe(refused?.user);
    await expect(world.registry.pushImage("pkadmin/app", "v2", { username: "pkadmin", password: a.token })).rejects.toThrow(/answered 401/);
    expect(await world.registry.pushImage("pkadmin/app", "v2", { username: "pkadmin", password: b.token })).toMatch(/^sha256:/);
    expect((await call("GET", `/v2/access-tokens/${a.uuid}`, { token: session })).status).toBe(404);
    expect(world.hub.violations).toEqual([]);
  });

  it("deactivating a token closes the registry to it, reactivating opens it again", async () => {
    const session = await login();
    const t = await mintPat(session, "toggle");
    expect(await opens(t.token)).toBe(200);

    const off = await call("PATCH", `/v2/access-tokens/${t.uuid}`, { token: session, body: { is_active: false } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ is_active: false, token: "" });
    expect(await opens(t.token)).toBe(401);

    const on = await call("PATCH", `/v2/access-tokens/${t.uuid}`, { token: session, body: { is_active: true } });
    expect(on.status).toBe(200);
    expect(await opens(t.token)).toBe(200);
    expect(world.hub.violations).toEqual([]);
  });

  it("mints organization access tokens with resources, lists, reads, updates and deletes them", async () => {
    const session = await login();
    const resources = [{ type: "TYPE_REPO", path: "acme/app", scopes: ["repo-pull"] }];
    const created = await call("POST", "/v2/orgs/acme/access-tokens", { token: session, body: { label: "pull-app", description: "pullkeeper", resources, expires_at: null } });
    expect(created.status).toBe(201);
    const token = String(created.body.token);
    const id = String(created.body.id);
    expect(token).toMatch(/^dckr_oat_/);
    expect(created.body).toMatchObject({ label: "pull-app", is_active: true, resources });
    expect(world.hub.registryLoginFor(token)).toEqual({ username: "acme", password: token });
    expect(await opens(token)).toBe(200);
    // A second token of the organization opens the registry under the same username, beside the first.
    const second = await call("POST", "/v2/orgs/acme/access-tokens", { token: session, body: { label: "pull-app-2", resources, expires_at: null } });
    expect(second.status).toBe(201);
    const token2 = String(second.body.token);
    expect(world.hub.registryLoginFor(token2)).toEqual({ username: "acme", password: token2 });
    expect(await opens(token2)).toBe(200);
    expect(await opens(token)).toBe(200);
    // The organization's name with a password that is none of its tokens stays refused by the registry.
    expect(await world.registry.basic("acme", "dckr_oat_not-a-token")).toBe(401);

    const listed = await call("GET", "/v2/orgs/acme/access-tokens?page=1&page_size=10", { token: session });
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBe(2);
    expect(JSON.stringify(listed.body)).not.toContain(token);

    const one = await call("GET", `/v2/orgs/acme/access-tokens/${id}`, { token: session });
    expect(one.body).toMatchObject({ id, resources });
    expect(one.body.token).toBeUndefined();

    const off = await call("PATCH", `/v2/orgs/acme/access-tokens/${id}`, { token: session, body: { is_active: false } });
    expect(off.body).toMatchObject({ is_active: false });
    expect(await opens(token)).toBe(401);
    await call("PATCH", `/v2/orgs/acme/access-tokens/${id}`, { token: session, body: { is_active: true } });
    expect(await opens(token)).toBe(200);

    expect((await call("GET", "/v2/orgs/other/access-tokens", { token: session })).status).toBe(403);
    expect((await call("DELETE", `/v2/orgs/acme/access-tokens/${id}`, { token: session })).status).toBe(204);
    expect(await opens(token)).toBe(401);
    expect(lastForwarded()).toMatchObject({ status: 401, user: expect.stringMatching(/^acme~\d+$/) });
    expect(await opens(token2)).toBe(200);
    expect((await call("DELETE", `/v2/orgs/acme/access-tokens/${String(second.body.id)}`, { token: session })).status).toBe(204);
    expect(await opens(token2)).toBe(401);
    expect(world.hub.violations).toEqual([]);
  });

  it("lists the admin's personal access tokens, page by page, without their values", async () => {
    const session = await login();
    type Listed = { count: number; next: string; previous: string; active_count: number; results: Record<string, unknown>[] };
    const list = async (query = ""): Promise<Listed> => {
      const r = await call("GET", `/v2/access-tokens${query}`, { token: session });
      expect(r.status).toBe(200);
      return r.body as unknown as Listed;
    };
    // Start from none: earlier tests in this file leave tokens behind (found, and deleted, through the list).
    for (const t of (await list("?page_size=100")).results) expect((await call("DELETE", `/v2/access-tokens/${String(t.uuid)}`, { token: session })).status).toBe(204);
    expect((await list()).count).toBe(0);

    const a = await mintPat(session, "rotation-v1");
    const b = await mintPat(session, "rotation-v2");
    // An organization's token is not one of the admin's personal tokens.
    const oat = await call("POST", "/v2/orgs/acme/access-tokens", { token: session, body: { label: "rotation-v1", resources: [{ type: "TYPE_REPO", path: "acme/app", scopes: ["repo-pull"] }] } });
    expect(oat.status).toBe(201);
    await call("PATCH", `/v2/access-tokens/${b.uuid}`, { token: session, body: { is_active: false } });

    const all = await list();
    expect(all).toMatchObject({ count: 2, active_count: 1, next: "", previous: "" });
    expect(all.results.map((t) => [t.uuid, t.token_label, t.token])).toEqual([
      [a.uuid, "rotation-v1", ""],
      [b.uuid, "rotation-v2", ""],
    ]);
    for (const secret of [a.token, b.token, String(oat.body.token)]) expect(JSON.stringify(all)).not.toContain(secret);

    const first = await list("?page=1&page_size=1");
    expect(first.count).toBe(2);
    expect(first.results.map((t) => t.uuid)).toEqual([a.uuid]);
    expect(first.next).toBe(`${world.hub.url}/v2/access-tokens?page=2&page_size=1`);
    expect(first.previous).toBe("");
    const second = await list(new URL(first.next).search);
    expect(second.results.map((t) => t.uuid)).toEqual([b.uuid]);
    expect(second).toMatchObject({ next: "", previous: `${world.hub.url}/v2/access-tokens?page=1&page_size=1` });

    await call("DELETE", `/v2/orgs/acme/access-tokens/${String(oat.body.id)}`, { token: session });
    expect(world.hub.violations).toEqual([]);
  });

  it("answers a body the description refuses with 400 and records a violation that says what is wrong", async () => {
    const session = await login();
    const before = world.hub.violations.length;
    const missing = await call("POST", "/v2/access-tokens", { token: session, body: { scopes: ["repo:read"] } });
    expect(missing.status).toBe(400);
    const unknown = await call("POST", "/v2/access-tokens", { token: session, body: { token_label: "x", scopes: ["repo:read"], lifetime: 30 } });
    expect(unknown.status).toBe(400);
    const badResource = await call("POST", "/v2/orgs/acme/access-tokens", { token: session, body: { label: "x", resources: [{ type: "REPO", path: "acme/app", scopes: [] }] } });
    expect(badResource.status).toBe(400);
    // An operation the description does not have is refused like any other departure from it.
    expect((await call("PUT", "/v2/access-tokens", { token: session, body: { token_label: "x", scopes: ["repo:read"] } })).status).toBe(400);
    const fresh = world.hub.violations.slice(before);
    expect(fresh).toContain("PUT /v2/access-tokens: the docker-hub description has only GET, POST on this path");
    expect(fresh.some((v) => v.startsWith("POST /v2/access-tokens: body") && v.includes("token_label"))).toBe(true);
    expect(fresh.some((v) => v.startsWith("POST /v2/access-tokens: body") && v.includes("lifetime"))).toBe(true);
    expect(fresh.some((v) => v.startsWith("POST /v2/orgs/{name}/access-tokens: body/resources/0/type"))).toBe(true);
    // Nothing was minted for them.
    expect(world.hub.tokens().some((t) => t.label === "x")).toBe(false);
    world.hub.violations.splice(before);
  });

  it("refuses a wrong admin secret, and token calls without a session, with 401", async () => {
    const wrong = await call("POST", "/v2/auth/token", { body: { identifier: "pkadmin", secret: "not-it" } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ detail: expect.any(String), message: expect.any(String) });
    expect((await call("POST", "/v2/access-tokens", { body: { token_label: "x", scopes: ["repo:read"] } })).status).toBe(401);
    expect((await call("POST", "/v2/access-tokens", { token: "forged", body: { token_label: "x", scopes: ["repo:read"] } })).status).toBe(401);
    expect(world.hub.violations).toEqual([]);
  });

  it("passes a scripted 429 with Retry-After, a 503, a reset and a hang on to the client", async () => {
    const session = await login();
    world.hub.failNext({ status: 429, headers: { "retry-after": "7" }, match: (r) => r.operation === "POST /v2/access-tokens" });
    const throttled = await call("POST", "/v2/access-tokens", { token: session, body: { token_label: "t", scopes: ["repo:read"] } });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("7");

    world.hub.failNext({ status: 503 });
    expect((await call("GET", "/v2/orgs/acme/access-tokens", { token: session })).status).toBe(503);

    world.hub.failNext({ kind: "reset" });
    await expect(call("GET", "/v2/orgs/acme/access-tokens", { token: session })).rejects.toThrow();

    world.hub.failNext({ kind: "hang" });
    await expect(call("GET", "/v2/orgs/acme/access-tokens", { token: session, signal: AbortSignal.timeout(300) })).rejects.toThrow();

    // The script is used up: the next call is served.
    expect((await call("GET", "/v2/orgs/acme/access-tokens", { token: session })).status).toBe(200);
    expect(world.hub.violations).toEqual([]);
  });

  it("answers its limit error once maxTokens live tokens exist, and mints again after one is deleted", async () => {
    const session = await login();
    const live = world.hub.tokens().filter((t) => t.owner === "pkadmin").length;
    world.hub.maxTokens = live + 1;
    const last = await mintPat(session, "last-one");
    const refused = await call("POST", "/v2/access-tokens", { token: session, body: { token_label: "one-too-many", scopes: ["repo:read"] } });
    expect(refused.status).toBe(TOKEN_LIMIT_STATUS);
    expect(String(refused.body.detail)).toMatch(/maximum number of personal access tokens/);
    expect(world.hub.tokens().some((t) => t.label === "one-too-many")).toBe(false);
    await call("DELETE", `/v2/access-tokens/${last.uuid}`, { token: session });
    await mintPat(session, "after-delete");
    expect(world.hub.violations).toEqual([]);
  });

  it("stops opening the registry to a token past expires_at once its clock passes it", async () => {
    const session = await login();
    const start = world.hub.now;
    const t = await mintPat(session, "short", { expires_at: new Date(start + 60_000).toISOString() });
    expect(await opens(t.token)).toBe(200);
    await world.hub.tick(start + 30_000);
    expect(await opens(t.token)).toBe(200);
    await world.hub.tick(start + 61_000);
    expect(await opens(t.token)).toBe(401);
    expect(world.hub.tokens().find((x) => x.id === t.uuid)?.installed).toBe(false);
    // Reactivating does not bring an expired token back.
    await call("PATCH", `/v2/access-tokens/${t.uuid}`, { token: session, body: { is_active: true } });
    expect(await opens(t.token)).toBe(401);
    // Admin sessions expire after 10 minutes of the fake's clock.
    await world.hub.tick(start + 11 * 60_000);
    expect((await call("GET", `/v2/access-tokens/${t.uuid}`, { token: session })).status).toBe(401);
    expect(world.hub.violations).toEqual([]);
  });

  it("keeps every token value out of what it records and logs, except the one create answer", async () => {
    const session = await login();
    const pat = await mintPat(session, "secretive");
    const oat = await call("POST", "/v2/orgs/acme/access-tokens", { token: session, body: { label: "secretive", resources: [{ type: "TYPE_REPO", path: "acme/app", scopes: ["repo-pull"] }] } });
    const oatToken = String(oat.body.token);
    await call("GET", `/v2/access-tokens/${pat.uuid}`, { token: session });
    await call("PATCH", `/v2/access-tokens/${pat.uuid}`, { token: session, body: { is_active: false } });
    await call("GET", `/v2/orgs/acme/access-tokens/${String(oat.body.id)}`, { token: session });
    await call("POST", "/v2/access-tokens", { token: session, body: { scopes: ["repo:read"] } }); // a violation
    const hub = world.hub;
    const everything = [JSON.stringify(hub.requests), JSON.stringify(hub.violations), JSON.stringify(hub.tokens()), JSON.stringify(hub), inspect(hub, { depth: 8 }), ...logged].join("\n");
    for (const secret of [pat.token, oatToken, session, hub.adminLogin.secret]) {
      expect(secret.length).toBeGreaterThan(8);
      expect(everything).not.toContain(secret);
    }
    // It did record the requests, with the Authorization header's scheme only.
    expect(hub.requests.at(-1)?.headers.authorization).toBe("Bearer [redacted]");
    hub.violations.splice(0);
  });
});
