import { describe, expect, it } from "vitest";
import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import type { ProviderRequest, ProviderResponse } from "../../model/provider-api.js";
import type { SourcePorts } from "../../model/source-module.js";
import type { StoredCredential } from "../../model/ports.js";
import runtime from "./runtime.js";
import type { GitLabTokenSource } from "./source.js";

const NOW = Date.parse("2026-12-02T13:00:00Z");
const ADMIN = "glpat-admin-secret";

/** Answers each request with the first handler that returns something; records what was asked. */
function world(kind: GitLabTokenSource["kind"], answer: (r: ProviderRequest) => Partial<ProviderResponse> | undefined) {
  const sent: ProviderRequest[] = [];
  const source: GitLabTokenSource = { type: "gitlab-token", admin: "pullkeeper/gitlab-admin", project: "acme/web", kind, lifetime: 30 * 86_400, rotation: "rate(7 days)", api: "https://gitlab.example.com/" };
  const registry = { id: "gl", host: "registry.example.com", kind: "gitlab", secret: "pullkeeper/gl", verify: {}, source } as unknown as Registry;
  const ports = {
    http: {
      request: async (_provider: string, r: ProviderRequest) => {
        sent.push(r);
        return { status: 404, headers: {}, body: undefined, ...answer(r) };
      },
    },
    adminCredential: async () => credential("ignored", ADMIN),
    clock: { now: () => new Date(NOW) },
  } as unknown as SourcePorts;
  return { sent, registry, ports };
}

const calls = (sent: ProviderRequest[]) => sent.map((r) => `${r.method} ${r.url}`);

describe("the gitlab-token runtime", () => {
  it("deletes what a crashed attempt left under the version's name, then makes a read_registry deploy token, the admin token in a header only", async () => {
    const { sent, registry, ports } = world("deploy-token", (r) => {
      if (r.method === "GET" && r.url.includes("&page=1&")) return { status: 200, headers: { "x-next-page": "2" }, body: [{ id: 5, name: "pullkeeper-v1" }, { id: 6, name: "other" }] };
      if (r.method === "GET") return { status: 200, body: [{ id: 7, name: "pullkeeper-v1" }] };
      if (r.method === "DELETE") return { status: 204 };
      return { status: 201, body: { id: 8, name: "pullkeeper-v1", username: "gitlab+deploy-token-8", token: "gldt-new" } };
    });
    const issued = await runtime.issuer?.(registry, ports).issue({ versionId: "v1" });
    expect(issued?.username).toBe("gitlab+deploy-token-8");
    expect(issued?.password.reveal()).toBe("gldt-new");
    const base = "https://gitlab.example.com/api/v4/projects/acme%2Fweb/deploy_tokens";
    expect(calls(sent)).toEqual([`GET ${base}?active=true&page=1&per_page=100`, `GET ${base}?active=true&page=2&per_page=100`, `DELETE ${base}/5`, `DELETE ${base}/7`, `POST ${base}`]);
    expect(sent.at(-1)?.json).toEqual({ name: "pullkeeper-v1", scopes: ["read_registry"], expires_at: new Date(NOW + 30 * 86_400_000).toISOString() });
    for (const r of sent) {
      expect(r.headers).toEqual({ "private-token": ADMIN });
      expect(r.url).not.toContain(ADMIN);
    }
  });

  it("makes a Reporter access token whose expiry date is rounded up, logged in under the token's name, following list links within the API only", async () => {
    const { sent, registry, ports } = world("access-token", (r) => {
      if (r.url.endsWith("?state=active")) return { status: 200, headers: { link: '<https://gitlab.example.com/api/v4/projects/acme%2Fweb/access_tokens?state=active&page=2>; rel="next"' }, body: [] };
      if (r.url.endsWith("page=2")) return { status: 200, headers: { link: '<https://elsewhere.example/steal?page=3>; rel="next"' }, body: [] };
      return { status: 201, body: { id: 9, name: "pullkeeper-v2", token: "glpat-new", user_id: 99 } };
    });
    const issued = await runtime.issuer?.(registry, ports).issue({ versionId: "v2" });
    expect(issued?.username).toBe("pullkeeper-v2");
    expect(calls(sent).filter((c) => c.startsWith("GET"))).toHaveLength(2);
    expect(sent.at(-1)?.json).toEqual({ name: "pullkeeper-v2", description: "pullkeeper: registry gl", scopes: ["read_registry"], access_level: 20, expires_at: "2027-01-02" });
  });

  it("deletes a token GitLab made but answered without its value, and fails without quoting the answer", async () => {
    const { sent, registry, ports } = world("deploy-token", (r) => {
      if (r.method === "GET") return { status: 200, body: [] };
      if (r.method === "POST") return { status: 201, body: { id: 11, name: "pullkeeper-v3", username: "gitlab+deploy-token-11" } };
      return { status: 204 };
    });
    await expect(runtime.issuer?.(registry, ports).issue({ versionId: "v3" })).rejects.toMatchObject({ code: "provider_refused" });
    expect(calls(sent).at(-1)).toBe("DELETE https://gitlab.example.com/api/v4/projects/acme%2Fweb/deploy_tokens/11");
  });

  it("revokes the superseded version's access tokens by name; one already revoked (404) is fine", async () => {
    const { sent, registry, ports } = world("access-token", (r) => {
      if (r.method === "GET") return { status: 200, body: [{ id: 3, name: "pullkeeper-old" }, { id: 4, name: "pullkeeper-current" }] };
      return { status: 404, body: { message: "404 Token Not Found" } };
    });
    const stored = (versionId: string) => ({ versionId, credential: credential("x", "y") }) as unknown as StoredCredential;
    await runtime.revoker?.(registry, ports).revoke(stored("old"), stored("current"));
    expect(calls(sent)).toEqual(["GET https://gitlab.example.com/api/v4/projects/acme%2Fweb/access_tokens?state=active", "DELETE https://gitlab.example.com/api/v4/projects/acme%2Fweb/access_tokens/3"]);
  });

  it("classifies a refused admin token, throttling and an outage", async () => {
    for (const [status, code] of [[401, "admin_rejected"], [403, "admin_rejected"], [429, "provider_throttled"], [502, "provider_unavailable"], [400, "provider_refused"]] as const) {
      const { registry, ports } = world("deploy-token", () => ({ status, headers: { "retry-after": "5" } }));
      await expect(runtime.issuer?.(registry, ports).issue({ versionId: "v" })).rejects.toMatchObject({ code, message: expect.stringMatching(/^GitLab: list tokens of project acme\/web: HTTP \d+/) });
    }
  });
});
