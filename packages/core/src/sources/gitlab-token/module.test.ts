import { modelSource } from "../../source-modules.js";
import { describe, expect, it } from "vitest";
import { gitlabTokenModule } from "./module.js";
import { configProbe } from "../shared/config-probe.js";

const { parse, messages } = configProbe(gitlabTokenModule, { admin: "pullkeeper/gitlab-admin" });

describe("the gitlab-token source's config", () => {
  it("defaults to 30-day deploy tokens rotated weekly, against gitlab.com", () => {
    const result = parse({ project: "acme/web" });
    expect(result.success && modelSource(result.data)).toEqual({
      type: "gitlab-token",
      admin: "pullkeeper/gitlab-admin",
      project: "acme/web",
      kind: "deploy-token",
      lifetime: 30 * 86_400,
      rotation: "rate(7 days)",
      api: "https://gitlab.com",
    });
  });

  it("takes a numeric ID as YAML reads it, kept as text", () => {
    const result = parse({ group: 1234, kind: "access-token" });
    expect(result.success && modelSource(result.data)).toMatchObject({ group: "1234", kind: "access-token" });
    expect(messages({ project: 42 })).toEqual([]);
  });

  it("wants exactly one of project and group", () => {
    expect(messages({})).toEqual(["project: set exactly one of project and group: whose registry the tokens open"]);
    expect(messages({ project: "acme/web", group: "7" })).toEqual(["group: set exactly one of project and group: whose registry the tokens open"]);
  });

  it("refuses a project path without its namespace, and a malformed path", () => {
    expect(messages({ project: "web" })).toEqual([expect.stringMatching(/^project: expected a project's numeric ID or its full path/)]);
    expect(messages({ project: "acme/-web" })).toEqual([expect.stringMatching(/^project: /)]);
    expect(messages({ project: 0 })).toEqual([expect.stringMatching(/^project: /)]);
    expect(messages({ group: "acme//x", kind: "access-token" })).toEqual([expect.stringMatching(/^group: /)]);
  });

  it("makes group deploy tokens by the group's numeric ID only (GitLab's description types it an integer); access tokens take the path", () => {
    expect(messages({ group: "acme" })).toEqual([expect.stringMatching(/^group: group deploy tokens take the group's numeric ID/)]);
    expect(messages({ group: "acme/platform", kind: "access-token" })).toEqual([]);
    expect(messages({ group: "77" })).toEqual([]);
  });

  it("knows two kinds of token", () => {
    expect(messages({ project: "acme/web", kind: "personal-token" })).toEqual(["kind: expected deploy-token (the default) or access-token"]);
  });

  it("refuses a lifetime that would not outlive the next rotation and its overlap", () => {
    expect(messages({ project: "acme/web", lifetime: "10d", rotation: "rate(7 days)" })).toEqual([
      "lifetime: expected at least twice the rotation interval (rate(7 days)), so a credential is replaced by half its life and outlives the overlap before its revocation",
    ]);
    expect(messages({ project: "acme/web", lifetime: "12h", rotation: "rate(1 hour)" })).toEqual(["lifetime: expected at least 1d: a credential must outlive its delivery and its overlap"]);
  });

  it("takes the instance's http(s) base URL, without /api/v4", () => {
    expect(messages({ project: "acme/web", api: "https://gitlab.example.com/gitlab" })).toEqual([]);
    expect(messages({ project: "acme/web", api: "https://gitlab.example.com/api/v4" })).toEqual([expect.stringMatching(/^api: .*without \/api\/v4/)]);
    expect(messages({ project: "acme/web", api: "file:///etc/passwd" })).toEqual([expect.stringMatching(/^api: /)]);
  });

  it("asks AWS for the admin secret only", () => {
    const result = parse({ project: "acme/web" });
    const source = result.success ? modelSource(result.data) : undefined;
    const registry = { id: "gl", host: "registry.gitlab.com", kind: "gitlab", secret: "pullkeeper/gl", source } as never;
    expect(gitlabTokenModule.awsPermissions?.rotation?.([registry, registry], { secretArn: (s) => `arn:${s}` })).toEqual([{ actions: ["secretsmanager:GetSecretValue"], resources: ["arn:pullkeeper/gitlab-admin"] }]);
  });
});
