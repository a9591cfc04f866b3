import { describe, expect, it } from "vitest";
import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import type { StoredCredential } from "../../model/ports.js";
import type { ProviderRequest, ProviderResponse } from "../../model/provider-api.js";
import type { SourcePorts } from "../../model/source-module.js";
import runtime from "./runtime.js";
import type { AcrTokenSource } from "./source.js";

const DAY = 86_400_000;
const source: AcrTokenSource = {
  type: "acr-token",
  admin: "pullkeeper/acr-admin",
  subscription: "00000000-1111-4222-8333-444444444444",
  resourceGroup: "rg",
  registry: "acmeregistry",
  token: "pullkeeper",
  lifetime: 30 * 86_400,
  rotation: "rate(7 days)",
  api: "https://arm.test",
  login: "https://login.test",
};
const registry = { id: "acr", host: "acmeregistry.azurecr.io", kind: "acr", secret: "pullkeeper/acr", source, verify: {} } as Registry;

/** ARM as a list of slots with creation times; records every request (method, path, body). */
function world(slots: Record<string, number>, answers: { generate?: ProviderResponse } = {}) {
  const sent: { method: string; path: string; json?: unknown }[] = [];
  const ports = {
    http: {
      request: async (_provider: string, r: ProviderRequest): Promise<ProviderResponse> => {
        const url = new URL(r.url);
        sent.push({ method: r.method, path: url.pathname, ...(r.json !== undefined && { json: r.json }) });
        if (url.host === "login.test") return { status: 200, headers: {}, body: { access_token: "at", token_type: "Bearer", expires_in: 3599 } };
        if (r.method === "GET") return { status: 200, headers: {}, body: { properties: { credentials: { passwords: Object.entries(slots).map(([name, t]) => ({ name, creationTime: new Date(t).toISOString() })) } } } };
        if (r.method === "PATCH") return { status: 200, headers: {}, body: {} };
        return answers.generate ?? { status: 200, headers: {}, body: { username: "pullkeeper", passwords: [{ name: (r.json as { name: string }).name, value: "new-value" }] } };
      },
    },
    adminCredential: async () => credential("contoso.onmicrosoft.com/9a1b2c3d-0000-4000-8000-00000000a11e", "client-secret"),
    clock: { now: () => new Date(20 * DAY) },
  } as unknown as SourcePorts;
  return { ports, sent };
}

const stored = (createdAt: number): StoredCredential => ({ arn: "arn", versionId: `v${createdAt}`, stages: [], createdAt: new Date(createdAt), credential: credential("pullkeeper", "x") });

describe("the acr-token runtime", () => {
  it("finds a stored password's slot at ARM, signing in once per issuer", async () => {
    const { ports, sent } = world({ password1: 10 * DAY, password2: 17 * DAY });
    const issuer = runtime.issuer?.(registry, ports);
    expect(await issuer?.slotOf?.(stored(17 * DAY + 500))).toBe("password2");
    expect(await issuer?.slotOf?.(stored(10 * DAY + 500))).toBe("password1");
    expect(await issuer?.issue({ slot: "password1", versionId: "v" })).toMatchObject({ username: "pullkeeper" });
    expect(sent.filter((r) => r.path === "/contoso.onmicrosoft.com/oauth2/v2.0/token")).toHaveLength(1);
    expect(sent.at(-1)?.json).toEqual({
      tokenId: "/subscriptions/00000000-1111-4222-8333-444444444444/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acmeregistry/tokens/pullkeeper",
      name: "password1",
      expiry: new Date(50 * DAY).toISOString(),
    });
  });

  it("revokes by removing the previous password's slot only, and leaves a slot the current password shares or that is gone", async () => {
    const both = world({ password1: 10 * DAY, password2: 17 * DAY });
    await runtime.revoker?.(registry, both.ports).revoke(stored(10 * DAY), stored(17 * DAY));
    expect(both.sent.filter((r) => r.method === "PATCH").map((r) => r.json)).toEqual([{ properties: { credentials: { passwords: [{ name: "password2" }] } } }]);

    const already = world({ password2: 17 * DAY });
    await runtime.revoker?.(registry, already.ports).revoke(stored(10 * DAY), stored(17 * DAY));
    expect(already.sent.filter((r) => r.method === "PATCH")).toEqual([]);
  });

  it("follows a long-running answer's Location only within the API's base URL", async () => {
    const { ports, sent } = world({}, { generate: { status: 202, headers: { location: "https://elsewhere.test/operationResults/1", "retry-after": "0" }, body: undefined } });
    await expect(runtime.issuer?.(registry, ports).issue({ slot: "password2", versionId: "v" })).rejects.toMatchObject({ code: "provider_refused" });
    expect(sent.some((r) => r.path.startsWith("/operationResults"))).toBe(false);
  });

  it("refuses to guess a slot for a password ARM lists without its creation time", async () => {
    const { ports } = world({});
    const http = ports.http;
    const bare = { ...ports, http: { request: async (p: string, r: ProviderRequest) => (r.method === "GET" ? { status: 200, headers: {}, body: { properties: { credentials: { passwords: [{ name: "password1" }] } } } } : http.request(p, r)) } } as SourcePorts;
    await expect(runtime.issuer?.(registry, bare).slotOf?.(stored(DAY))).rejects.toMatchObject({ code: "provider_refused" });
  });

  it("refuses an admin username that is not <tenant>/<client id> before sending the secret anywhere", async () => {
    const { ports, sent } = world({});
    const wrong = { ...ports, adminCredential: async () => credential("just-a-client-id", "client-secret") } as SourcePorts;
    await expect(runtime.issuer?.(registry, wrong).issue({ slot: "password1", versionId: "v" })).rejects.toMatchObject({ code: "admin_rejected" });
    expect(sent).toEqual([]);
  });
});
