import type { Credential } from "@pullkeeper/core";
import { afterEach, describe, expect, it } from "vitest";
import type { LocalSecretWrites } from "../local-secrets.js";
import { type RunningServer, startLocalServer } from "./server.js";

/** The local-only secret route: behind the admin token, PUT only, the value never echoed. */

const TOKEN = "admin-token-for-the-test";
const VALUE = "value-5b1e-never-echo-me";
const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(withSecrets = true) {
  const puts: { name: string; value: Credential }[] = [];
  const secrets: LocalSecretWrites = {
    put: async (name, value) => {
      puts.push({ name, value });
      return { name, arn: `arn:aws:secretsmanager:local:000000000000:secret:${name}-AbCdEf`, versionId: "v1", created: true, propagation: { propagated: false, reason: "not tracked" } };
    },
  };
  const server = await startLocalServer({
    port: 0,
    adminToken: TOKEN,
    api: async () => ({ statusCode: 200, body: "{}" }),
    health: () => ({}),
    ...(withSecrets && { secrets }),
  });
  servers.push(server);
  const put = (path: string, body: string, token = TOKEN, method = "PUT") =>
    fetch(`${server.url}${path}`, { method, headers: { ...(token && { authorization: `Bearer ${token}` }) }, ...(method !== "GET" && { body }) }).then(async (r) => ({ status: r.status, text: await r.text() }));
  return { puts, put };
}

describe("PUT /local/v1/secrets/{name}", () => {
  it("writes a login under the decoded name and answers with its version, never its value", async () => {
    const { puts, put } = await serve();
    const answer = await put("/local/v1/secrets/team%2Fhub", JSON.stringify({ username: "robot", password: VALUE }));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ name: "team/hub", versionId: "v1", created: true });
    expect(answer.text).not.toContain(VALUE);
    expect(puts.map((p) => [p.name, p.value.username, p.value.password.reveal()])).toEqual([["team/hub", "robot", VALUE]]);
  });

  it("refuses without the admin token, another method, a body that is not a login or too big: nothing written, nothing echoed", async () => {
    const { puts, put } = await serve();
    const login = JSON.stringify({ username: "robot", password: VALUE });
    expect((await put("/local/v1/secrets/x", login, "")).status).toBe(401);
    expect((await put("/local/v1/secrets/x", login, "wrong-token-of-same-length!!")).status).toBe(401);
    expect((await put("/local/v1/secrets/x", "", TOKEN, "GET")).status).toBe(405);
    for (const body of [`not json ${VALUE}`, JSON.stringify({ username: "robot" }), JSON.stringify([VALUE])]) {
      const refused = await put("/local/v1/secrets/x", body);
      expect(refused.status).toBe(400);
      expect(refused.text).not.toContain(VALUE);
    }
    expect((await put("/local/v1/secrets/x", JSON.stringify({ username: "robot", password: "x".repeat(70_000) }))).status).toBe(413);
    expect((await put("/local/v1/secrets/%E0%A4%A", login)).status).toBe(400);
    expect(puts).toEqual([]);
  });

  it("does not exist on a server that was not given a writer", async () => {
    const { put } = await serve(false);
    expect((await put("/local/v1/secrets/x", JSON.stringify({ username: "robot", password: VALUE }))).status).toBe(404);
  });
});
