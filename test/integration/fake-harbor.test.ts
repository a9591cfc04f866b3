import { describe, expect, it } from "vitest";
import { HARBOR_ADMIN, ROBOT_QUOTA_MESSAGE, useFakeHarbor } from "../support/fake-harbor.js";
import { expectResetAndHang, expectScriptedStatuses, readAnswer } from "../support/provider-fake-tests.js";

/** Tests the Harbor stand-in itself: its spec checks, its auth, and the real registry behind it. */
const world = useFakeHarbor({ others: [{ username: "dev", password: "Dev-user-1" }] });

const basic = (login: { username: string; password: string }) => `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;

async function call(method: string, path: string, body?: unknown, login = HARBOR_ADMIN, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${world.harbor.url}${path}`, {
    method,
    headers: { authorization: basic(login), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body),
  });
  return readAnswer(response);
}

interface Created {
  id: number;
  name: string;
  secret: string;
  expires_at: number;
}

async function createRobot(name: string, extra: Record<string, unknown> = {}): Promise<Created> {
  const r = await call("POST", "/robots", {
    name,
    description: "pull",
    level: "project",
    disable: false,
    duration: -1,
    permissions: [{ kind: "project", namespace: "library", access: [{ resource: "repository", action: "pull" }] }],
    ...extra,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as Created;
}

const opens = (name: string, secret: string) => world.registry.basic(name, secret);

describe("the Harbor stand-in", () => {
  it("creates two robots, each opens the real registry under robot$<project>+<name>", async () => {
    const a = await createRobot("pk-blue");
    const b = await createRobot("pk-green");
    expect(a.name).toBe("robot$library+pk-blue");
    expect(a.expires_at).toBe(-1);
    expect(a.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(await opens(a.name, a.secret)).toBe(200);
    expect(await opens(b.name, b.secret)).toBe(200);
    expect(await opens(a.name, b.secret)).toBe(401);
    // As in Harbor: without Level only system robots are listed; project robots need the project's id.
    expect((await call("GET", "/robots?q=name%3D~pk-")).body).toEqual([]);
    expect(await call("GET", "/robots?q=Level%3Dproject%2Cname%3D~pk-")).toMatchObject({ status: 400 });
    expect(await call("GET", "/projects/library", undefined, HARBOR_ADMIN, { "X-Is-Resource-Name": "true" })).toMatchObject({ status: 200, body: { project_id: 1, name: "library" } });
    expect(await call("GET", "/projects/nope", undefined, HARBOR_ADMIN, { "X-Is-Resource-Name": "true" })).toMatchObject({ status: 404 });
    const list = await call("GET", "/robots?q=Level%3Dproject%2CProjectID%3D1%2Cname%3D~pk-&page=1&page_size=10");
    expect(list.status).toBe(200);
    expect(list.headers.get("x-total-count")).toBe("2");
    expect((list.body as { name: string; secret?: string }[]).map((r) => [r.name, r.secret])).toEqual([
      [a.name, undefined],
      [b.name, undefined],
    ]);
  });

  it("refresh without a secret: Harbor's new secret opens, the old one is refused at once, the other robot untouched", async () => {
    const a = await createRobot("pk-blue");
    const b = await createRobot("pk-green");
    const r = await call("PATCH", `/robots/${a.id}`, {});
    expect(r.status).toBe(200);
    const fresh = (r.body as { secret: string }).secret;
    expect(fresh).not.toBe(a.secret);
    expect(await opens(a.name, a.secret)).toBe(401);
    expect(await opens(a.name, fresh)).toBe(200);
    expect(await opens(b.name, b.secret)).toBe(200);
  });

  it("refresh with a given secret: answered with an empty secret, and the given one opens; a weak one is refused", async () => {
    const a = await createRobot("pk-blue");
    const b = await createRobot("pk-green");
    const given = "Pullkeeper-Rotated-2026";
    const r = await call("PATCH", `/robots/${a.id}`, { secret: given });
    expect(r).toMatchObject({ status: 200, body: {} });
    expect(await opens(a.name, a.secret)).toBe(401);
    expect(await opens(a.name, given)).toBe(200);
    expect(await opens(b.name, b.secret)).toBe(200);

    for (const weak of ["short1A", "alllowercase123", "ALLUPPERCASE123", "NoDigitsAtAll", "A1a".repeat(43)]) {
      const refused = await call("PATCH", `/robots/${a.id}`, { secret: weak });
      expect(refused.status, weak.slice(0, 10)).toBe(400);
      expect(JSON.stringify(refused.body)).not.toContain(weak);
    }
    expect(await opens(a.name, given)).toBe(200);
    // Nothing recorded carries a secret.
    expect(JSON.stringify(world.harbor.requests.map((q) => [q.headers, q.body]))).not.toContain(given);
  });

  it("delete and disable close the registry to the robot; enable opens it again", async () => {
    const a = await createRobot("pk-blue");
    const b = await createRobot("pk-green");
    const got = await call("GET", `/robots/${b.id}`);
    expect(got.status).toBe(200);
    const robot = got.body as Record<string, unknown>;
    expect(await call("PUT", `/robots/${b.id}`, { ...robot, disable: true })).toMatchObject({ status: 200 });
    expect(await opens(b.name, b.secret)).toBe(401);
    expect(await opens(a.name, a.secret)).toBe(200);
    expect(await call("PUT", `/robots/${b.id}`, { ...robot, disable: false })).toMatchObject({ status: 200 });
    expect(await opens(b.name, b.secret)).toBe(200);

    expect(await call("DELETE", `/robots/${a.id}`)).toMatchObject({ status: 200 });
    expect(await opens(a.name, a.secret)).toBe(401);
    expect(await call("GET", `/robots/${a.id}`)).toMatchObject({ status: 404, body: { errors: [{ code: "NOT_FOUND" }] } });
    expect(await world.registry.users()).toEqual([b.name]);
  });

  it("a robot's login stops working once the clock passes expires_at (duration in days)", async () => {
    const start = Date.now();
    const a = await createRobot("pk-blue", { duration: 2 });
    const never = await createRobot("pk-green", { duration: -1 });
    expect(a.expires_at).toBe(Math.floor(world.harbor.now / 1000) + 2 * 86_400);
    await world.harbor.tick(start + 86_400_000);
    expect(await opens(a.name, a.secret)).toBe(200);
    await world.harbor.tick(a.expires_at * 1000);
    expect(await opens(a.name, a.secret)).toBe(401);
    expect(await opens(never.name, never.secret)).toBe(200);
  });

  it("records each request the description refuses, answered 400", async () => {
    const a = await createRobot("pk-blue");
    const wrongType = await call("POST", "/robots", { name: "pk-x", level: "project", duration: "30", permissions: [] });
    expect(wrongType.status).toBe(400);
    const unknown = await call("PATCH", `/robots/${a.id}`, { secret: "Valid-Secret-1", rotate: true });
    expect(unknown.status).toBe(400);
    const query = await call("GET", `/robots/${a.id}?with_secret=true`);
    expect(query.status).toBe(400);
    const badId = await call("GET", "/robots/pk-blue");
    expect(badId.status).toBe(400);
    expect(world.harbor.takeViolations()).toEqual([
      "POST /api/v2.0/robots: body/duration: must be integer",
      "PATCH /api/v2.0/robots/{robot_id}: body: property rotate is not declared by the schema",
      "GET /api/v2.0/robots/{robot_id}: query parameter with_secret is not declared by the operation",
      "GET /api/v2.0/robots/{robot_id}: path parameter robot_id: must be integer",
    ]);
    // Refused requests changed nothing.
    expect(await opens(a.name, a.secret)).toBe(200);
  });

  it("answers 401 to a wrong admin credential and 403 to a user without the permission", async () => {
    const a = await createRobot("pk-blue");
    expect(await call("PATCH", `/robots/${a.id}`, {}, { username: "admin", password: "wrong" })).toMatchObject({ status: 401, body: { errors: [{ code: "UNAUTHORIZED" }] } });
    expect(await call("PATCH", `/robots/${a.id}`, {}, { username: "dev", password: "Dev-user-1" })).toMatchObject({ status: 403, body: { errors: [{ code: "FORBIDDEN" }] } });
    const anonymous = await fetch(`${world.harbor.url}/robots`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
    expect(await opens(a.name, a.secret)).toBe(200);
  });

  it("scripted failures reach the client: 429 with and without Retry-After, 503, a reset, a hang", async () => {
    const a = await createRobot("pk-blue");
    world.harbor.failNext(
      { status: 429, headers: { "retry-after": "7" }, body: { errors: [{ code: "TOO_MANY_REQUESTS", message: "slow down" }] }, match: (r) => r.method === "PATCH" },
      { status: 429 },
      { status: 503 },
    );
    await expectScriptedStatuses(() => call("PATCH", `/robots/${a.id}`, {}), () => call("GET", "/robots"), "7", 503);
    // The throttled refresh changed nothing.
    expect(await opens(a.name, a.secret)).toBe(200);

    await expectResetAndHang(world.harbor, (signal) => fetch(`${world.harbor.url}/robots`, { headers: { authorization: basic(HARBOR_ADMIN) }, ...(signal === undefined ? {} : { signal }) }));
    expect((await call("GET", "/robots")).status).toBe(200);
  });

  it("refuses a robot past the quota with Harbor's error shape", async () => {
    world.harbor.maxRobots = 2;
    await createRobot("pk-blue");
    await createRobot("pk-green");
    const refused = await call("POST", "/robots", { name: "pk-red", level: "project", duration: -1, permissions: [{ kind: "project", namespace: "library", access: [] }] });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ errors: [{ code: "DENIED", message: expect.stringContaining(ROBOT_QUOTA_MESSAGE) as unknown }] });
    expect(await world.registry.users()).toEqual(["robot$library+pk-blue", "robot$library+pk-green"]);
  });
});
