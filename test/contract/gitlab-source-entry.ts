import { randomBytes, randomUUID } from "node:crypto";
import { credential, type Registry, SOURCE_MODULES, type SourcePorts, systemClock, modelSource, type RegistrySource } from "@pullkeeper/core";
import { FetchProviderHttp, RandomPasswords } from "@pullkeeper/registry";
import { startCredentialRegistry } from "../support/credential-registry.js";
import { FakeGitLab } from "../support/fake-gitlab.js";
import type { ProviderFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

export type GitLabVariant = "project deploy-token" | "group deploy-token" | "group access-token";

const OWNERS: Record<GitLabVariant, Record<string, string>> = {
  "project deploy-token": { project: "acme/web", kind: "deploy-token" },
  // GitLab's description types a group's id as an integer for deploy tokens.
  "group deploy-token": { group: "42", kind: "deploy-token" },
  "group access-token": { group: "acme/platform", kind: "access-token" },
};

/**
 * The GitLab source's contract entry: its runtime (the module's `load()`) issues a token through
 * the fake GitLab, whose requests are checked against GitLab's API description, and which installs
 * every token that can pull in a real docker-registry, so "the upstream holds it" is the registry's
 * own answer. Access tokens ask for `read_registry`, which GitLab documents and its description's
 * enum lacks (`allowDocumentedRegistryScopes`), and log in under the token's name
 * (`accessTokenLogin = "name"`: GitLab takes any username with an access token).
 */
export function gitlabEntry(variant: GitLabVariant): SourceContractEntry {
  return {
    sourceType: "gitlab-token",
    variant,
    async start(): Promise<SourceHarness> {
      const module = SOURCE_MODULES.find((m) => m.type === "gitlab-token");
      const runtime = (await module?.load?.())?.default;
      if (module === undefined || runtime?.issuer === undefined) throw new Error("no gitlab-token module with an issuer");
      const registry = await startCredentialRegistry();
      const adminToken = `glpat-admin-${randomBytes(10).toString("hex")}`;
      const gitlab = await FakeGitLab.start(registry, { adminToken });
      gitlab.allowDocumentedRegistryScopes = true;
      gitlab.accessTokenLogin = "name";
      const parsed = module.schema.parse({ type: "gitlab-token", admin: "pullkeeper/gitlab-admin", ...OWNERS[variant], api: gitlab.url });
      const entry = { id: "gl", host: registry.host, kind: "gitlab", secret: "pullkeeper/gl", source: modelSource(parsed as RegistrySource) } as Registry;
      const ports: SourcePorts = {
        accounts: () => {
          throw new Error("GitLab keeps no password file");
        },
        passwords: new RandomPasswords(),
        http: new FetchProviderHttp({ timeoutMs: 1000 }),
        // The token the vault holds; the admin_rejected fault changes the one GitLab accepts.
        adminCredential: async () => credential("pullkeeper-admin", adminToken),
        clock: systemClock,
      };
      const issuer = runtime.issuer(entry, ports);
      const produced: string[] = [adminToken];
      const every = () => true;
      const creates = (r: { method: string; path: string }) => r.method === "POST" && /\/(deploy|access)_tokens$/.test(r.path);
      const faults: Record<ProviderFault, () => void | false> = {
        admin_rejected: () => {
          gitlab.adminToken = `glpat-another-${randomUUID()}`;
        },
        // GitLab documents no cap on live deploy or access tokens: no answer to stand for one.
        quota: () => false,
        throttled_retry_after: () => gitlab.failNext({ status: 429, headers: { "retry-after": "30" }, body: { message: "429 Too Many Requests" }, match: every }),
        throttled: () => gitlab.failNext({ status: 429, body: { message: "429 Too Many Requests" }, match: every }),
        server: () => gitlab.failNext({ status: 503, match: every }),
        reset: () => gitlab.failNext({ reset: true, match: every }),
        hang: () => gitlab.failNext({ hang: true, match: every }),
      };
      return {
        obtain: async () => {
          const versionId = randomUUID();
          const issued = await issuer.issue({ versionId });
          produced.push(issued.password.reveal());
          const made = [...gitlab.tokens.values()].find((t) => t.name === `pullkeeper-${versionId}` && !t.revoked);
          return { credential: issued, ...(made?.expiresAtMs !== undefined && { expiresAt: new Date(made.expiresAtMs) }) };
        },
        holds: async (c) => (await registry.basic(c.username, c.password.reveal())) === 200,
        values: () => produced,
        failProvider: (fault) => faults[fault](),
        // Created (201) but without the token: nothing usable, and nothing to quote back.
        breakUpstream: () => gitlab.failNext({ status: 201, body: { id: 999_999, name: "pullkeeper", scopes: ["read_registry"], revoked: false, expired: false }, match: creates }),
        close: async () => {
          const violations = [...gitlab.violations];
          await gitlab.close();
          await registry.stop();
          // Every request the source sent must match GitLab's description of the operation.
          if (violations.length > 0) throw new Error(`requests departing from GitLab's API description: ${violations.join("; ")}`);
        },
      };
    },
  };
}
