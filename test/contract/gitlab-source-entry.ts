import { randomBytes, randomUUID } from "node:crypto";
import { FakeGitLab } from "../support/fake-gitlab.js";
import { providerSourceEntry } from "./provider-source-entry.js";
import type { SourceContractEntry } from "./source-contract.js";

export type GitLabVariant = "project deploy-token" | "group deploy-token" | "group access-token";

const OWNERS: Record<GitLabVariant, Record<string, string>> = {
  "project deploy-token": { project: "acme/web", kind: "deploy-token" },
  // GitLab's description types a group's id as an integer for deploy tokens.
  "group deploy-token": { group: "42", kind: "deploy-token" },
  "group access-token": { group: "acme/platform", kind: "access-token" },
};

const creates = (r: { method: string; path: string }) => r.method === "POST" && /\/(deploy|access)_tokens$/.test(r.path);

/**
 * The GitLab source's contract entry: its runtime issues a token through the fake GitLab, whose
 * requests are checked against GitLab's API description, and which installs every token that can
 * pull in a real docker-registry. Access tokens ask for `read_registry`, which GitLab documents and
 * its description's enum lacks (`allowDocumentedRegistryScopes`), and log in under the token's name
 * (`accessTokenLogin = "name"`: GitLab takes any username with an access token).
 */
export function gitlabEntry(variant: GitLabVariant): SourceContractEntry {
  return providerSourceEntry({
    sourceType: "gitlab-token",
    variant,
    provider: "GitLab",
    registry: { id: "gl", kind: "gitlab" },
    startFake: async (registry) => {
      const gitlab = await FakeGitLab.start(registry, { adminToken: `glpat-admin-${randomBytes(10).toString("hex")}` });
      gitlab.allowDocumentedRegistryScopes = true;
      gitlab.accessTokenLogin = "name";
      return gitlab;
    },
    source: (gitlab) => ({ admin: "pullkeeper/gitlab-admin", ...OWNERS[variant], api: gitlab.url }),
    obtain: {
      by: "issuer",
      // The token the vault holds, read at the start; the admin_rejected fault changes the one GitLab accepts.
      admin: (gitlab) => ({ username: "pullkeeper-admin", secret: gitlab.adminToken }),
      expiresAt: (gitlab, _issued, { versionId }) => {
        const made = [...gitlab.tokens.values()].find((t) => t.name === `pullkeeper-${versionId}` && !t.revoked);
        return made?.expiresAtMs !== undefined ? new Date(made.expiresAtMs) : undefined;
      },
    },
    // GitLab's 429 carries its message.
    failNext: (gitlab, failure) => gitlab.failNext("status" in failure && failure.status === 429 ? { ...failure, body: { message: "429 Too Many Requests" } } : failure),
    faults: (gitlab) => ({
      admin_rejected: () => {
        gitlab.adminToken = `glpat-another-${randomUUID()}`;
      },
      // GitLab documents no cap on live deploy or access tokens: no answer to stand for one.
      quota: () => false,
    }),
    // Created (201) but without the token: nothing usable, and nothing to quote back.
    breakUpstream: (gitlab) => gitlab.failNext({ status: 201, body: { id: 999_999, name: "pullkeeper", scopes: ["read_registry"], revoked: false, expired: false }, match: creates }),
    violations: (gitlab) => gitlab.violations,
    stopFake: (gitlab) => gitlab.close(),
  });
}
