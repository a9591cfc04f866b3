import { modelSource } from "../../source-modules.js";
import { describe, expect, it } from "vitest";
import { jfrogTokenModule } from "./module.js";
import { configProbe } from "../shared/config-probe.js";

const { parse, messages } = configProbe(jfrogTokenModule, { admin: "pullkeeper/jfrog-admin", api: "https://acme.jfrog.io", username: "ci-pull" });

describe("the jfrog-token source's config", () => {
  it("defaults to 30-day tokens with the user's own permissions, rotated weekly", () => {
    const result = parse({ api: "https://acme.jfrog.io/" });
    expect(result.success && modelSource(result.data)).toEqual({
      type: "jfrog-token",
      admin: "pullkeeper/jfrog-admin",
      api: "https://acme.jfrog.io",
      username: "ci-pull",
      scope: "applied-permissions/user",
      lifetime: 30 * 86_400,
      rotation: "rate(7 days)",
    });
  });

  it("needs the platform's base URL and the user the tokens are for", () => {
    const result = jfrogTokenModule.schema.safeParse({ type: "jfrog-token", admin: "pullkeeper/jfrog-admin" });
    expect(result.success ? [] : result.error.issues.map((i) => i.path.join("."))).toEqual(["api", "username"]);
  });

  it("takes the platform's base URL alone, over http(s)", () => {
    expect(messages({ api: "file:///etc/passwd" })).toEqual([expect.stringMatching(/^api: expected the JFrog Platform's base URL/)]);
    expect(messages({ api: "https://acme.jfrog.io/artifactory" })).toEqual([expect.stringMatching(/^api: .*without \/artifactory or \/access \(https:\/\/acme\.jfrog\.io\)/)]);
    expect(messages({ api: "https://admin:secret@acme.jfrog.io" })).toEqual([expect.stringMatching(/^api: .*no login, query or fragment/)]);
    expect(messages({ api: "https://jfrog.internal/platform" })).toEqual([]);
  });

  it("refuses a username a registry login cannot carry, and an admin scope", () => {
    expect(messages({ username: "ci:pull" })).toEqual([expect.stringMatching(/^username: /)]);
    expect(messages({ username: "" })).toEqual([expect.stringMatching(/^username: /)]);
    expect(messages({ scope: "applied-permissions/admin" })).toEqual([expect.stringMatching(/^scope: an admin-scoped token/)]);
    expect(messages({ scope: "x".repeat(501) })).toEqual(["scope: expected at most 500 characters (JFrog's limit)"]);
    expect(messages({ scope: "applied-permissions/groups:readers" })).toEqual([]);
  });

  it("refuses a lifetime that would not outlive the next rotation and its overlap", () => {
    expect(messages({ lifetime: "10d", rotation: "rate(7 days)" })).toEqual(["lifetime: expected at least twice the rotation interval (rate(7 days)), so a credential is replaced by half its life and outlives the overlap before its revocation"]);
    expect(messages({ lifetime: "12h", rotation: "rate(1 hour)" })).toEqual(["lifetime: expected at least 1d: a credential must outlive its delivery and its overlap"]);
    expect(messages({ lifetime: "14d", rotation: "rate(7 days)" })).toEqual([]);
  });

  it("asks for reading the admin secret only, once per secret", () => {
    const registries = ["a", "b"].map((id) => ({ id, source: { type: "jfrog-token", admin: "pullkeeper/jfrog-admin" } })) as never[];
    expect(jfrogTokenModule.awsPermissions?.rotation?.(registries, { secretArn: (s) => `arn:${s}` })).toEqual([{ actions: ["secretsmanager:GetSecretValue"], resources: ["arn:pullkeeper/jfrog-admin"] }]);
  });
});
