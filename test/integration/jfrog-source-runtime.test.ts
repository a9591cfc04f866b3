import { randomUUID } from "node:crypto";
import { credential, type Registry, SOURCE_MODULES, type SourcePorts, type SourceRuntime, type StoredCredential, systemClock } from "@pullkeeper/core";
import { FetchProviderHttp, RandomPasswords } from "@pullkeeper/registry";
import { beforeAll, describe, expect, it } from "vitest";
import { useFakeJFrog } from "../support/fake-jfrog.js";

/**
 * The JFrog source's runtime against the fake JFrog Platform, for what the contract and the
 * end-to-end test do not reach: a retried createSecret, a revocation that touches only the
 * superseded version's tokens, and a token JFrog made but the source refuses.
 */

const world = useFakeJFrog();
let runtime: SourceRuntime;
let registry: Registry;
let ports: SourcePorts;

beforeAll(async () => {
  const module = SOURCE_MODULES.find((m) => m.type === "jfrog-token");
  runtime = (await module?.load?.())?.default as SourceRuntime;
  const parsed = module?.schema.parse({ type: "jfrog-token", admin: "pullkeeper/jfrog-admin", api: world.jfrog.url, username: "ci-pull" });
  registry = { id: "jfrog", host: world.registry.host, kind: "generic", secret: "pullkeeper/jfrog", source: module?.toSource?.(parsed as never) ?? parsed } as Registry;
  ports = {
    accounts: () => {
      throw new Error("no password file");
    },
    passwords: new RandomPasswords(),
    http: new FetchProviderHttp({ timeoutMs: 2000 }),
    adminCredential: async () => credential("admin", world.adminToken),
    clock: systemClock,
  };
});

const described = (versionId: string) => [...world.jfrog.tokens.values()].filter((t) => t.description === `pullkeeper ${versionId}`);
const stored = (versionId: string): StoredCredential => ({ versionId }) as StoredCredential;

describe("the jfrog-token runtime", () => {
  it("a retried createSecret revokes the token a crashed attempt left under the version's description, and makes one", async () => {
    const versionId = randomUUID();
    const issuer = runtime.issuer?.(registry, ports);
    const lost = await issuer?.issue({ versionId });
    const again = await issuer?.issue({ versionId });
    expect(described(versionId).map((t) => t.revoked)).toEqual([true, false]);
    expect(again?.username).toBe("ci-pull");
    expect(await world.registry.basic("ci-pull", lost?.password.reveal() ?? "")).toBe(401);
    expect(await world.registry.basic("ci-pull", again?.password.reveal() ?? "")).toBe(200);
  });

  it("revokes the superseded version's token only; a version it did not make is left alone", async () => {
    const [old, next] = [randomUUID(), randomUUID()];
    const issuer = runtime.issuer?.(registry, ports);
    const oldCredential = await issuer?.issue({ versionId: old });
    const nextCredential = await issuer?.issue({ versionId: next });
    await runtime.revoker?.(registry, ports).revoke(stored(old), stored(next));
    await runtime.revoker?.(registry, ports).revoke(stored(old), stored(next));
    await runtime.revoker?.(registry, ports).revoke(stored(randomUUID()), stored(next));
    expect(described(old).map((t) => t.revoked)).toEqual([true]);
    expect(described(next).map((t) => t.revoked)).toEqual([false]);
    expect(await world.registry.basic("ci-pull", oldCredential?.password.reveal() ?? "")).toBe(401);
    expect(await world.registry.basic("ci-pull", nextCredential?.password.reveal() ?? "")).toBe(200);
  });

  it("revokes a token whose expiry JFrog shortened, and refuses it without showing it", async () => {
    const versionId = randomUUID();
    const before = world.jfrog.tokens.size;
    // The fake honours expires_in: the shortened answer is scripted (an instance whose max-expiry caps it).
    const value = `eyJ.${randomUUID()}`;
    const tokenId = randomUUID();
    world.jfrog.failNext({ status: 200, body: { token_id: tokenId, access_token: value, expires_in: 3600, token_type: "Bearer" }, match: (r) => r.method === "POST" });
    const error = await runtime.issuer?.(registry, ports).issue({ versionId }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "provider_refused", message: expect.stringMatching(/expires in 3600 s, not the 2592000 s asked.*revoked/) });
    expect(String((error as Error).message)).not.toContain(value);
    expect(world.jfrog.requests.at(-1)).toMatchObject({ method: "DELETE", path: `/access/api/v1/tokens/${tokenId}` });
    expect(world.jfrog.tokens.size).toBe(before);
  });
});
