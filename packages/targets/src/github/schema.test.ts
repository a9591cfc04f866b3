import { formatIssues } from "@pullkeeper/core";
import { describe, expect, it } from "vitest";
import { codespacesSecretTargetSchema, dependabotSecretTargetSchema, githubActionsSecretTargetSchema } from "./schema.js";
import { githubProvider, secretLocation } from "./targets.js";

const base = { kind: "codespaces-secret", tokenSecret: "pullkeeper/github-token", prefix: "ACME" };

function issues(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown): string[] {
  const r = schema.safeParse(value);
  if (r.success) return [];
  return formatIssues(r.error as Parameters<typeof formatIssues>[0]);
}

describe("codespaces-secret schema", () => {
  it("accepts each scope", () => {
    expect(codespacesSecretTargetSchema.parse({ ...base, scope: "repository", repository: "octo-org/web.site" })).toMatchObject({ scope: "repository" });
    expect(codespacesSecretTargetSchema.parse({ ...base, scope: "user", selectedRepositoryIds: [1] })).toMatchObject({ scope: "user" });
    expect(codespacesSecretTargetSchema.parse({ ...base, scope: "organization", organization: "octo-org", visibility: "selected", selectedRepositoryIds: [1, 2] })).toMatchObject({ visibility: "selected" });
    expect(codespacesSecretTargetSchema.parse({ ...base, scope: "repository", repository: "o/r", baseUrl: "https://ghe.example.com/api/v3/" })).toMatchObject({ baseUrl: "https://ghe.example.com/api/v3" });
  });

  it.each([
    ["GITHUB_ACME", "must not start with GITHUB_"],
    ["acme", "must use only A-Z, 0-9 and _"],
    ["1ACME", "must not start with a digit"],
    ["AC-ME", "must use only A-Z, 0-9 and _"],
  ])("rejects the prefix %s", (prefix, message) => {
    expect(issues(codespacesSecretTargetSchema, { ...base, prefix, scope: "repository", repository: "o/r" }).join("\n")).toContain(message);
  });

  it("user scope needs repositories; org scope needs visibility, and repositories exactly when selected", () => {
    expect(issues(codespacesSecretTargetSchema, { ...base, scope: "user" }).join("\n")).toContain("selectedRepositoryIds");
    expect(issues(codespacesSecretTargetSchema, { ...base, scope: "organization", organization: "o" }).join("\n")).toContain("visibility");
    expect(issues(codespacesSecretTargetSchema, { ...base, scope: "organization", organization: "o", visibility: "selected" }).join("\n")).toContain("visibility selected needs selectedRepositoryIds");
    expect(issues(codespacesSecretTargetSchema, { ...base, scope: "organization", organization: "o", visibility: "all", selectedRepositoryIds: [1] }).join("\n")).toContain("only allowed with visibility selected");
  });

  it("rejects a bad repository, an unknown scope, an unknown field and a non-http baseUrl", () => {
    expect(issues(codespacesSecretTargetSchema, { ...base, scope: "repository", repository: "web" }).join("\n")).toContain("owner/name");
    expect(issues(codespacesSecretTargetSchema, { ...base, scope: "environment", repository: "o/r", environment: "prod" })).not.toEqual([]);
    expect(issues(codespacesSecretTargetSchema, { ...base, scope: "repository", repository: "o/r", extra: 1 })).not.toEqual([]);
    expect(issues(codespacesSecretTargetSchema, { ...base, scope: "repository", repository: "o/r", baseUrl: "ftp://x" }).join("\n")).toContain("baseUrl");
    expect(issues(codespacesSecretTargetSchema, { ...base, tokenSecret: "", scope: "repository", repository: "o/r" }).join("\n")).toContain("tokenSecret");
  });
});

describe("github-actions-secret and dependabot-secret schemas", () => {
  const actions = { kind: "github-actions-secret", tokenSecret: "t" };
  it("defaults the names and rejects equal or reserved ones", () => {
    expect(githubActionsSecretTargetSchema.parse({ ...actions, scope: "repository", repository: "o/r" })).toMatchObject({ usernameSecret: "REGISTRY_USERNAME", passwordSecret: "REGISTRY_PASSWORD" });
    expect(issues(githubActionsSecretTargetSchema, { ...actions, scope: "repository", repository: "o/r", usernameSecret: "X", passwordSecret: "X" }).join("\n")).toContain("must differ");
    expect(issues(githubActionsSecretTargetSchema, { ...actions, scope: "repository", repository: "o/r", passwordSecret: "GITHUB_TOKEN" }).join("\n")).toContain("GITHUB_");
  });

  it("environment scope exists for Actions only", () => {
    expect(githubActionsSecretTargetSchema.parse({ ...actions, scope: "environment", repository: "o/r", environment: "production" })).toMatchObject({ environment: "production" });
    expect(issues(dependabotSecretTargetSchema, { kind: "dependabot-secret", tokenSecret: "t", scope: "environment", repository: "o/r", environment: "production" })).not.toEqual([]);
    expect(issues(dependabotSecretTargetSchema, { kind: "dependabot-secret", tokenSecret: "t", scope: "user", selectedRepositoryIds: [1] })).not.toEqual([]);
  });
});

describe("secretLocation and provider", () => {
  it("maps each family and scope to GitHub's paths", () => {
    expect(secretLocation("codespaces", { scope: "user", selectedRepositoryIds: [7] })).toMatchObject({ collection: "/user/codespaces/secrets", extraBody: { selected_repository_ids: [7] } });
    expect(secretLocation("dependabot", { scope: "repository", repository: "o/r" })).toMatchObject({ collection: "/repos/{owner}/{repo}/dependabot/secrets", params: { owner: "o", repo: "r" } });
    expect(secretLocation("actions", { scope: "environment", repository: "o/r", environment: "prod eu" })).toMatchObject({
      collection: "/repos/{owner}/{repo}/environments/{environment_name}/secrets",
      params: { environment_name: "prod eu" },
    });
    expect(secretLocation("actions", { scope: "organization", organization: "acme", visibility: "private" }).extraBody).toEqual({ visibility: "private" });
  });

  it("names the provider bucket", () => {
    expect(githubProvider(undefined)).toBe("github");
    expect(githubProvider("https://api.github.com")).toBe("github");
    expect(githubProvider("https://ghe.example.com/api/v3")).toBe("github:ghe.example.com");
  });
});
