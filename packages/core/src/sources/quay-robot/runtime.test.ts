import { modelSource } from "../../source-modules.js";
import { describe, expect, it } from "vitest";
import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import { systemClock, type StoredCredential } from "../../model/ports.js";
import type { ProviderRequest, ProviderResponse } from "../../model/provider-api.js";
import type { SourcePorts } from "../../model/source-module.js";
import { quayRobotModule } from "./module.js";
import runtime from "./runtime.js";

/** The runtime's decisions over a scripted Quay (the contract and the e2e run it against the fake Quay). */
function world(answers: ((request: ProviderRequest) => ProviderResponse | undefined)[] = []) {
  const requests: ProviderRequest[] = [];
  const source = quayRobotModule.schema.parse({ type: "quay-robot", admin: "pullkeeper/quay-admin", organization: "acme", api: "https://quay.example.com/" });
  const registry = { id: "quay", host: "quay.example.com", kind: "quay", secret: "pullkeeper/quay", source: modelSource(source) } as Registry;
  const ports: SourcePorts = {
    accounts: () => {
      throw new Error("no file");
    },
    passwords: { generate: () => credential("x", "y").password },
    http: {
      request: async (_provider, request) => {
        requests.push(request);
        return answers.shift()?.(request) ?? { status: 200, headers: {}, body: { name: `acme+${/robots\/([^/]+)/.exec(request.url)?.[1] ?? ""}`, token: `token-${requests.length}` } };
      },
    },
    adminCredential: async () => credential("admin", "oauth-token"),
    clock: systemClock,
  };
  const stored = (username: string): StoredCredential => ({ arn: "arn", versionId: username, stages: [], createdAt: new Date(0), credential: credential(username, "t") });
  return { requests, issuer: runtime.issuer?.(registry, ports), revoker: runtime.revoker?.(registry, ports), stored };
}

const calls = (requests: ProviderRequest[]) => requests.map((r) => `${r.method} ${r.url}`);
const status = (code: number, body?: unknown) => (): ProviderResponse => ({ status: code, headers: {}, body });

describe("the quay-robot runtime", () => {
  it("alternates the two robots, each the slot of its own login only", () => {
    const { issuer, stored } = world();
    expect(issuer?.slots).toEqual(["pullkeeper_blue", "pullkeeper_green"]);
    expect(issuer?.slotOf?.(stored("acme+pullkeeper_green"))).toBe("pullkeeper_green");
    expect(issuer?.slotOf?.(stored("other+pullkeeper_green"))).toBeUndefined();
    expect(issuer?.slotOf?.(stored("acme+someone_else"))).toBeUndefined();
  });

  it("regenerates the slot's robot, with the admin token as a bearer and nothing secret in the URL", async () => {
    const { issuer, requests } = world();
    const issued = await issuer?.issue({ slot: "pullkeeper_green", versionId: "v1" });
    expect(issued?.username).toBe("acme+pullkeeper_green");
    expect(issued?.password.reveal()).toBe("token-1");
    expect(calls(requests)).toEqual(["POST https://quay.example.com/api/v1/organization/acme/robots/pullkeeper_green/regenerate"]);
    expect(requests[0]?.headers).toEqual({ authorization: "Bearer oauth-token" });
  });

  it("creates a robot Quay does not have (404, or 400 'Could not find robot'), and regenerates one a create finds already there", async () => {
    for (const notFound of [status(404), status(400, { error_message: "Could not find robot with specified username" })]) {
      const { issuer, requests } = world([notFound, status(201, { name: "acme+pullkeeper_blue", token: "created" })]);
      expect((await issuer?.issue({ slot: "pullkeeper_blue", versionId: "v1" }))?.password.reveal()).toBe("created");
      expect(calls(requests)[1]).toBe("PUT https://quay.example.com/api/v1/organization/acme/robots/pullkeeper_blue");
      expect(requests[1]?.json).toEqual({ description: "pullkeeper: registry quay; its token is rotated by pullkeeper" });
    }
    const { issuer, requests } = world([status(404), status(400, { error_message: "Existing robot with name: acme+pullkeeper_blue" })]);
    expect((await issuer?.issue({ slot: "pullkeeper_blue", versionId: "v1" }))?.password.reveal()).toBe("token-3");
    expect(requests.map((r) => r.method)).toEqual(["POST", "PUT", "POST"]);
  });

  it("refuses an answer without a token, or for another robot, without quoting it", async () => {
    await expect(world([status(200, { name: "acme+pullkeeper_blue" })]).issuer?.issue({ slot: "pullkeeper_blue", versionId: "v" })).rejects.toMatchObject({ code: "provider_refused" });
    await expect(world([status(200, { name: "acme+other", token: "leaked" })]).issuer?.issue({ slot: "pullkeeper_blue", versionId: "v" })).rejects.toThrow(/^(?!.*leaked).*another robot/);
    await expect(world([status(401)]).issuer?.issue({ slot: "pullkeeper_blue", versionId: "v" })).rejects.toMatchObject({ code: "admin_rejected" });
  });

  it("revokes the other robot's token by regenerating it; leaves the current robot and a login that is not one of the two alone", async () => {
    const w = world();
    await w.revoker?.revoke(w.stored("acme+pullkeeper_blue"), w.stored("acme+pullkeeper_green"));
    expect(calls(w.requests)).toEqual(["POST https://quay.example.com/api/v1/organization/acme/robots/pullkeeper_blue/regenerate"]);
    await w.revoker?.revoke(w.stored("acme+pullkeeper_green"), w.stored("acme+pullkeeper_green"));
    await w.revoker?.revoke(w.stored("acme+a_person"), w.stored("acme+pullkeeper_green"));
    expect(w.requests).toHaveLength(1);
    // A robot someone deleted meanwhile: nothing left to revoke.
    const gone = world([status(404)]);
    await expect(gone.revoker?.revoke(gone.stored("acme+pullkeeper_blue"), gone.stored("acme+pullkeeper_green"))).resolves.toBeUndefined();
  });
});
