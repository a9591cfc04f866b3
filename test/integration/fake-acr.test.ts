import { describe, expect, it } from "vitest";
import { ACR_ADMIN, ACR_API_VERSION, ACR_SUBSCRIPTION, ACR_TENANT, ARM_SCOPE, type ServicePrincipal, useFakeAcr } from "../support/fake-acr.js";
import { expectResetAndHang, expectScriptedStatuses, readAnswer } from "../support/provider-fake-tests.js";

/** Tests the ACR stand-in itself: Entra ID's token endpoint, ARM's spec checks and auth, the two password slots in the real registry. */
const DEV: ServicePrincipal = { clientId: "5e5e5e5e-0000-4000-8000-0000000000de", clientSecret: "dev-secret" };
const world = useFakeAcr({ others: [DEV] });

const REGISTRY = `/subscriptions/${ACR_SUBSCRIPTION}/resourceGroups/pullkeeper-rg/providers/Microsoft.ContainerRegistry/registries/pullkeeperacr`;
const TOKEN = `${REGISTRY}/tokens/pullkeeper`;
const q = `?api-version=${ACR_API_VERSION}`;

async function accessToken(principal: ServicePrincipal = ACR_ADMIN, tenant = ACR_TENANT): Promise<{ status: number; body: unknown }> {
  const form = new URLSearchParams({ grant_type: "client_credentials", client_id: principal.clientId, client_secret: principal.clientSecret, scope: ARM_SCOPE });
  return readAnswer(await fetch(`${world.acr.url}/${tenant}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() }));
}

async function bearer(principal: ServicePrincipal = ACR_ADMIN): Promise<string> {
  const answer = await accessToken(principal);
  expect(answer).toMatchObject({ status: 200, body: { token_type: "Bearer", expires_in: expect.any(Number) } });
  return (answer.body as { access_token: string }).access_token;
}

async function arm(method: string, path: string, body?: unknown, token?: string, signal?: AbortSignal): Promise<{ status: number; body: unknown; headers: Headers }> {
  const auth = token ?? (await bearer());
  const response = await fetch(path.startsWith("http") ? path : `${world.acr.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${auth}`, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? null : JSON.stringify(body),
    ...(signal && { signal }),
  });
  return readAnswer(response);
}

interface Generated {
  username: string;
  passwords: { name: string; value: string; creationTime: string; expiry?: string }[];
}

async function generate(name?: "password1" | "password2", expiry?: string): Promise<Generated> {
  const r = await arm("POST", `${REGISTRY}/generateCredentials${q}`, { tokenId: TOKEN, ...(name && { name }), ...(expiry && { expiry }) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as Generated;
}

const opens = (password: string) => world.registry.basic("pullkeeper", password);
const valueOf = (g: Generated, slot: string) => g.passwords.find((p) => p.name === slot)?.value ?? "";

describe("the ACR stand-in", () => {
  it("gives each slot its password: both open the registry as the token's name; regenerating a slot replaces only its password", async () => {
    const one = await generate("password1", new Date(Date.now() + 86_400_000).toISOString());
    expect(one.username).toBe("pullkeeper");
    expect(one.passwords.map((p) => p.name)).toEqual(["password1"]);
    const two = await generate("password2");
    expect(await opens(valueOf(one, "password1"))).toBe(200);
    expect(await opens(valueOf(two, "password2"))).toBe(200);
    const again = await generate("password1");
    expect(await opens(valueOf(one, "password1"))).toBe(401);
    expect(await opens(valueOf(again, "password1"))).toBe(200);
    expect(await opens(valueOf(two, "password2"))).toBe(200);
    const got = await arm("GET", `${TOKEN}${q}`);
    expect(got.status).toBe(200);
    const listed = (got.body as { properties: { credentials: { passwords: Record<string, unknown>[] } } }).properties.credentials.passwords;
    expect(listed.map((p) => [p.name, "value" in p])).toEqual([
      ["password1", false],
      ["password2", false],
    ]);
    // Without a name, ACR regenerates both.
    const both = await generate();
    expect(both.passwords.map((p) => p.name)).toEqual(["password1", "password2"]);
    expect(await opens(valueOf(two, "password2"))).toBe(401);
  });

  it("removes a slot left out of Tokens_Update's passwords, stops a disabled token, and expires passwords on its clock", async () => {
    const one = await generate("password1", new Date(Date.now() + 3_600_000).toISOString());
    const two = await generate("password2", new Date(Date.now() + 7_200_000).toISOString());
    const updated = await arm("PATCH", `${TOKEN}${q}`, { properties: { credentials: { passwords: [{ name: "password2" }] } } });
    expect(updated.status).toBe(200);
    expect(world.acr.token("pullkeeper")?.passwords.map((p) => p.name)).toEqual(["password2"]);
    expect(await opens(valueOf(one, "password1"))).toBe(401);
    expect(await opens(valueOf(two, "password2"))).toBe(200);
    await world.acr.setStatus("pullkeeper", "disabled");
    expect(await opens(valueOf(two, "password2"))).toBe(401);
    await world.acr.setStatus("pullkeeper", "enabled");
    expect(await opens(valueOf(two, "password2"))).toBe(200);
    await world.acr.tick(Date.now() + 7_200_001);
    expect(await opens(valueOf(two, "password2"))).toBe(401);
    expect((await arm("POST", `${REGISTRY}/generateCredentials${q}`, { tokenId: TOKEN, name: "password1", expiry: new Date(Date.now() + 60_000).toISOString() })).status).toBe(400);
  });

  it("answers Entra ID's errors for a wrong secret, an unknown client or tenant, and ARM's 401 and 403", async () => {
    expect(await accessToken({ ...ACR_ADMIN, clientSecret: "wrong" })).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect(await accessToken({ clientId: "nobody", clientSecret: "x" })).toMatchObject({ status: 400, body: { error: "unauthorized_client" } });
    expect(await accessToken(ACR_ADMIN, "other-tenant")).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    const graph = new URLSearchParams({ grant_type: "client_credentials", client_id: ACR_ADMIN.clientId, client_secret: ACR_ADMIN.clientSecret, scope: "https://graph.microsoft.com/.default" });
    const wrongScope = await fetch(`${world.acr.url}/${ACR_TENANT}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: graph.toString() });
    expect(await readAnswer(wrongScope)).toMatchObject({ status: 400, body: { error: "invalid_scope" } });
    expect(await arm("GET", `${TOKEN}${q}`, undefined, "not-a-token")).toMatchObject({ status: 401, body: { error: { code: "InvalidAuthenticationToken" } } });
    expect(await arm("GET", `${TOKEN}${q}`, undefined, await bearer(DEV))).toMatchObject({ status: 403, body: { error: { code: "AuthorizationFailed" } } });
    const secrets = JSON.stringify(world.acr.requests.map((r) => [r.body, r.headers.authorization]));
    expect(secrets).not.toContain(ACR_ADMIN.clientSecret);
    expect(secrets).not.toContain("dev-secret");
  });

  it("holds requests to the description: api-version, the body's properties; and 404 outside its registry or token", async () => {
    expect((await arm("GET", TOKEN)).status).toBe(400);
    expect((await arm("POST", `${REGISTRY}/generateCredentials${q}`, { tokenId: TOKEN, name: "password3" })).status).toBe(400);
    expect((await arm("POST", `${REGISTRY}/generateCredentials${q}`, { tokenId: TOKEN, slot: "password1" })).status).toBe(400);
    expect(world.acr.takeViolations()).toEqual([
      expect.stringMatching(/Tokens_Get|api-version/),
      expect.stringMatching(/name/),
      expect.stringMatching(/slot/),
    ]);
    expect((await arm("GET", `${TOKEN}?api-version=2019-05-01`)).status).toBe(400);
    expect((await arm("GET", `${REGISTRY.replace("pullkeeperacr", "otherregistry")}/tokens/pullkeeper${q}`)).status).toBe(404);
    expect((await arm("GET", `${REGISTRY}/tokens/missing-token${q}`)).status).toBe(404);
    expect((await arm("POST", `${REGISTRY}/generateCredentials${q}`, { tokenId: `${REGISTRY}/tokens/missing-token`, name: "password1" })).status).toBe(404);
  });

  it("answers GenerateCredentials as a long-running operation when told to: 202 + Location, polled until 200", async () => {
    world.acr.longRunning = { polls: 1 };
    const started = await arm("POST", `${REGISTRY}/generateCredentials${q}`, { tokenId: TOKEN, name: "password2" });
    expect(started.status).toBe(202);
    const location = started.headers.get("location") ?? "";
    expect(location.startsWith(world.acr.url)).toBe(true);
    expect((await arm("GET", location)).status).toBe(202);
    const done = await arm("GET", location);
    expect(done.status).toBe(200);
    expect(await opens(valueOf(done.body as Generated, "password2"))).toBe(200);
  });

  it("plays scripted failures: statuses with headers, a reset, a hang", async () => {
    const token = await bearer();
    world.acr.failNext({ status: 429, headers: { "retry-after": "7" }, match: (r) => r.method === "GET" }, { status: 429 }, { status: 503 });
    const get = () => arm("GET", `${TOKEN}${q}`, undefined, token);
    await expectScriptedStatuses(get, get, "7", 503);
    await expectResetAndHang(world.acr, (signal) => arm("GET", `${TOKEN}${q}`, undefined, token, signal));
  });
});
