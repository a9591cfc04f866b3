import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import type { SourcePorts, SourceRuntime } from "../../model/source-module.js";
import { DockerHubApi } from "./api.js";
import type { DockerHubTokenSource } from "./source.js";

/** The label a rotation's token carries at Docker Hub: how a retried step or the revocation finds it again. */
export const tokenLabel = (versionId: string): string => `pullkeeper ${versionId}`;

async function session(registry: Registry, ports: SourcePorts): Promise<{ api: DockerHubApi; username: string }> {
  const source = registry.source as DockerHubTokenSource;
  const admin = await ports.adminCredential(source.admin);
  const api = new DockerHubApi(source, ports.http, () => ports.clock.now().getTime());
  await api.login(admin);
  // An organization token logs in as the organization; a personal one as its user.
  return { api, username: source.organization ?? admin.username };
}

/**
 * Independent tokens: no slots. createSecret makes a token labelled with the rotation's version
 * (deleting one a crashed attempt left under that label first: its value was shown once and is
 * lost); it is live at once, so there is no setSecret work. The revocation deletes the tokens
 * labelled with the superseded version; a version pullkeeper did not make (the first secret,
 * written by a person) carries no label and is left for a person to delete.
 */
const runtime: SourceRuntime = {
  issuer: (registry, ports) => ({
    issue: async ({ versionId }) => {
      const { api, username } = await session(registry, ports);
      const label = tokenLabel(versionId);
      for (const stale of await api.find(label)) await api.delete(stale.id);
      return credential(username, await api.create(label, `pullkeeper: registry ${registry.id}`));
    },
  }),
  revoker: (registry, ports) => ({
    revoke: async (previous) => {
      const { api } = await session(registry, ports);
      for (const token of await api.find(tokenLabel(previous.versionId))) await api.delete(token.id);
    },
  }),
};
export default runtime;
