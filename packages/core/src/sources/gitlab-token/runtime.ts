import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import type { SourcePorts, SourceRuntime } from "../../model/source-module.js";
import { GitLabApi } from "./api.js";
import type { GitLabTokenSource } from "./source.js";

/** The name a rotation's token carries at GitLab: how a retried step or the revocation finds it again. */
export const tokenName = (versionId: string): string => `pullkeeper-${versionId}`;

async function session(registry: Registry, ports: SourcePorts): Promise<GitLabApi> {
  const source = registry.source as GitLabTokenSource;
  const admin = await ports.adminCredential(source.admin);
  return new GitLabApi(source, ports.http, () => ports.clock.now().getTime(), admin.password);
}

/**
 * Independent tokens: no slots. createSecret makes a token named with the rotation's version
 * (deleting or revoking one a crashed attempt left under that name first: its value was shown once
 * and is lost); it is live at once, so there is no setSecret work. GitLab's own "rotate" endpoints
 * revoke the old token at once, before any consumer holds the new one: never used. The revocation
 * deletes (deploy) or revokes (access) the tokens named with the superseded version; a version
 * pullkeeper did not make (the first secret, written by a person) has no such token and is left
 * for a person to revoke.
 */
const runtime: SourceRuntime = {
  issuer: (registry, ports) => ({
    issue: async ({ versionId }) => {
      const api = await session(registry, ports);
      const name = tokenName(versionId);
      for (const stale of await api.find(name)) await api.delete(stale.id);
      const made = await api.create(name, `pullkeeper: registry ${registry.id}`);
      // A deploy token logs in as its own username; an access token with any non-blank one: its name says which token a consumer holds.
      return credential(made.username ?? name, made.value);
    },
  }),
  revoker: (registry, ports) => ({
    revoke: async (previous) => {
      const api = await session(registry, ports);
      for (const token of await api.find(tokenName(previous.versionId))) await api.delete(token.id);
    },
  }),
};
export default runtime;
