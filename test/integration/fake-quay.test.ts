import { describe, expect, it } from "vitest";
import { QUAY_ADMIN_TOKEN, useFakeQuay } from "../support/fake-quay.js";
import { expectResetAndHang, expectScriptedStatuses, readAnswer } from "../support/provider-fake-tests.js";

/** Tests the Quay stand-in itself: its spec checks, its auth, and the real registry behind it. */
const world = useFakeQuay({ user: "alice", orgs: ["acme"], others: ["read-only-token"] });

async function call(method: string, path: string, body?: unknown, token = QUAY_ADMIN_TOKEN): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${world.quay.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return readAnswer(response);
}

interface Robot {
  name: string;
  token: string;
  created: string;
  description: string;
  last_accessed: null;
  unstructured_metadata?: Record<string, unknown>;
}

async function create(path: string, body: unknown = {}): Promise<Robot> {
  const r = await call("PUT", path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as Robot;
}

const opens = (robot: Robot, token = robot.token) => world.registry.basic(robot.name, token);

describe("the Quay stand-in", () => {
  it("creates two organization robots with Quay's shape; each opens the real registry as <org>+<shortname>", async () => {
    const a = await create("/organization/acme/robots/pk_blue", { description: "pull only", unstructured_metadata: { by: "pullkeeper" } });
    const b = await create("/organization/acme/robots/pk_green");
    expect(a).toEqual({ name: "acme+pk_blue", created: expect.stringMatching(/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d -0000$/) as unknown, last_accessed: null, description: "pull only", token: expect.stringMatching(/^[A-Z0-9]{64}$/) as unknown, unstructured_metadata: { by: "pullkeeper" } });
    expect(await opens(a)).toBe(200);
    expect(await opens(b)).toBe(200);
    expect(await opens(a, b.token)).toBe(401);
    expect(await call("GET", "/organization/acme/robots/pk_blue")).toMatchObject({ status: 200, body: { name: a.name, token: a.token } });
  });

  it("regenerate: answered 200 with the new token, the old one refused at once, the other robot untouched", async () => {
    const a = await create("/organization/acme/robots/pk_blue");
    const b = await create("/organization/acme/robots/pk_green");
    const r = await call("POST", "/organization/acme/robots/pk_blue/regenerate");
    expect(r.status).toBe(200);
    const fresh = r.body as Robot;
    expect(fresh.name).toBe(a.name);
    expect(fresh.token).not.toBe(a.token);
    expect(await opens(a)).toBe(401);
    expect(await opens(fresh)).toBe(200);
    expect(await opens(b)).toBe(200);
  });

  it("a user's robots: <user>+<shortname>, regenerate and delete", async () => {
    const a = await create("/user/robots/pk_blue");
    const b = await create("/user/robots/pk_green");
    expect(a.name).toBe("alice+pk_blue");
    const r = await call("POST", "/user/robots/pk_blue/regenerate");
    expect(r.status).toBe(200);
    expect(await opens(a)).toBe(401);
    expect(await opens(r.body as Robot)).toBe(200);
    expect(await call("DELETE", "/user/robots/pk_green")).toMatchObject({ status: 204 });
    expect(await opens(b)).toBe(401);
    expect(await world.registry.users()).toEqual(["alice+pk_blue"]);
  });

  it("delete closes the registry to the robot; it is gone afterwards", async () => {
    const a = await create("/organization/acme/robots/pk_blue");
    const b = await create("/organization/acme/robots/pk_green");
    expect(await call("DELETE", "/organization/acme/robots/pk_blue")).toMatchObject({ status: 204, body: undefined });
    expect(await opens(a)).toBe(401);
    expect(await opens(b)).toBe(200);
    expect((await call("GET", "/organization/acme/robots/pk_blue")).status).toBe(404);
    expect((await call("POST", "/organization/acme/robots/pk_blue/regenerate")).status).toBe(404);
  });

  it("records each request the description refuses, answered 400", async () => {
    const a = await create("/organization/acme/robots/pk_blue");
    expect((await call("PUT", "/organization/acme/robots/pk_red", { description: 42 })).status).toBe(400);
    expect((await call("PUT", "/organization/acme/robots/pk_red", { description: "x", expires: 3 })).status).toBe(400);
    expect((await call("GET", "/organization/acme/robots/pk_blue?token=true")).status).toBe(400);
    expect((await call("PUT", "/organization/acme/robots/pk_red")).status).toBe(400);
    expect((await call("POST", "/organization/acme/robots/pk_blue/regenerate", {})).status).toBe(400);
    expect(world.quay.takeViolations()).toEqual([
      "PUT /api/v1/organization/{orgname}/robots/{robot_shortname}: body/description: must be string",
      "PUT /api/v1/organization/{orgname}/robots/{robot_shortname}: body: property expires is not declared by the schema",
      "GET /api/v1/organization/{orgname}/robots/{robot_shortname}: query parameter token is not declared by the operation",
      "PUT /api/v1/organization/{orgname}/robots/{robot_shortname}: a request body is required",
      "POST /api/v1/organization/{orgname}/robots/{robot_shortname}/regenerate: takes no request body",
    ]);
    expect(await opens(a)).toBe(200);
    expect(await world.registry.users()).toEqual(["acme+pk_blue"]);
  });

  it("answers 401 to a wrong or missing token, 403 to one without the admin scope or for another organization", async () => {
    const a = await create("/organization/acme/robots/pk_blue");
    expect(await call("POST", "/organization/acme/robots/pk_blue/regenerate", undefined, "wrong-token")).toMatchObject({ status: 401, body: { error_type: "invalid_token" } });
    const anonymous = await fetch(`${world.quay.url}/api/v1/organization/acme/robots/pk_blue`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
    expect((await call("POST", "/organization/acme/robots/pk_blue/regenerate", undefined, "read-only-token")).status).toBe(403);
    expect((await call("PUT", "/organization/other/robots/pk_blue", {})).status).toBe(403);
    expect(await opens(a)).toBe(200);
    // No recorded request carries a token.
    expect(JSON.stringify(world.quay.requests.map((r) => r.headers))).not.toContain(QUAY_ADMIN_TOKEN);
  });

  it("scripted failures reach the client: 429 with and without Retry-After, 500, a reset, a hang", async () => {
    const a = await create("/organization/acme/robots/pk_blue");
    world.quay.failNext({ status: 429, headers: { "retry-after": "12" }, body: { error_message: "slow down" }, match: (r) => r.path.endsWith("/regenerate") }, { status: 429 }, { status: 500 });
    await expectScriptedStatuses(() => call("POST", "/organization/acme/robots/pk_blue/regenerate"), () => call("GET", "/organization/acme/robots/pk_blue"), "12", 500);
    expect(await opens(a)).toBe(200);

    await expectResetAndHang(world.quay, (signal) => fetch(`${world.quay.url}/api/v1/organization/acme/robots/pk_blue`, { headers: { authorization: `Bearer ${QUAY_ADMIN_TOKEN}` }, ...(signal === undefined ? {} : { signal }) }));
    expect((await call("GET", "/organization/acme/robots/pk_blue")).status).toBe(200);
  });
});
