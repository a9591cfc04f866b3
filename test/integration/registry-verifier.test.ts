import { credential, type Verification, type VerifyRequest } from "@pullkeeper/core";
import { RegistryV2Verifier } from "@pullkeeper/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry, type TestRegistry } from "../support/registry.js";

const PASSWORD = "s3cret-Pa55word-for-alice";
const NEW_PASSWORD = "rotated-Pa55word-for-alice";

describe("RegistryV2Verifier against a real docker-registry", () => {
  let registry: TestRegistry;
  const verifier = new RegistryV2Verifier({ timeoutMs: 5_000 });

  beforeAll(async () => {
    registry = await startRegistry({ alice: PASSWORD, pusher: "pusher-password" });
    await registry.pushImage("team/canary", "v1", { username: "pusher", password: "pusher-password" });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const verify = (username: string, password: string, extra: Partial<VerifyRequest> = {}): Promise<Verification> =>
    verifier.verify({ host: registry.host, credential: credential(username, password), endpoint: registry.url, ...extra });

  const expectNoLeak = (result: Verification, ...passwords: string[]): void => {
    // The Basic header's base64 is the password too, only dressed up.
    const secrets = passwords.flatMap((p) => [p, Buffer.from(`alice:${p}`).toString("base64")]);
    for (const secret of secrets) {
      expect(result.detail).not.toContain(secret);
      expect(JSON.stringify(result)).not.toContain(secret);
    }
  };

  it("accepts the right credential", async () => {
    const result = await verify("alice", PASSWORD);
    expect(result.status).toBe("ok");
    expect(result.detail).toContain("Basic");
    expect(result.checkedAt).toBeInstanceOf(Date);
    expectNoLeak(result, PASSWORD);
  });

  it("says unauthorized for a wrong password", async () => {
    const result = await verify("alice", "not-the-password");
    expect(result).toMatchObject({ status: "unauthorized" });
    expect(result.detail).toContain("401");
    expectNoLeak(result, "not-the-password");
  });

  it("says unauthorized for an unknown user", async () => {
    const result = await verify("mallory", PASSWORD);
    expect(result.status).toBe("unauthorized");
    expectNoLeak(result, PASSWORD);
  });

  it("finds a canary image that exists", async () => {
    const result = await verify("alice", PASSWORD, { canary: { repository: "team/canary", reference: "v1" } });
    expect(result.status).toBe("ok");
    expect(result.detail).toContain("team/canary:v1");
    expectNoLeak(result, PASSWORD);
  });

  it("says unreachable, not found, for a canary image that does not exist", async () => {
    const result = await verify("alice", PASSWORD, { canary: { repository: "team/canary", reference: "missing" } });
    expect(result.status).toBe("unreachable");
    expect(result.detail).toContain("not found");
    expectNoLeak(result, PASSWORD);
  });

  it("follows a password change: the old credential stops working, the new one works", async () => {
    await registry.setUsers({ alice: NEW_PASSWORD, pusher: "pusher-password" });

    const old = await verify("alice", PASSWORD);
    const renewed = await verify("alice", NEW_PASSWORD, { canary: { repository: "team/canary", reference: "v1" } });

    expect(old.status).toBe("unauthorized");
    expect(renewed.status).toBe("ok");
    expectNoLeak(old, PASSWORD, NEW_PASSWORD);
    expectNoLeak(renewed, PASSWORD, NEW_PASSWORD);
  });
});
