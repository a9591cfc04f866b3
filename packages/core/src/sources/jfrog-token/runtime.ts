import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import type { SourcePorts, SourceRuntime } from "../../model/source-module.js";
import { JFrogApi } from "./api.js";
import type { JFrogTokenSource } from "./source.js";

/** The description a rotation's token carries at JFrog: how a retried step or the revocation finds it again. */
export const tokenDescription = (versionId: string): string => `pullkeeper ${versionId}`;

async function session(registry: Registry, ports: SourcePorts): Promise<{ api: JFrogApi; source: JFrogTokenSource }> {
  const source = registry.source as JFrogTokenSource;
  const admin = await ports.adminCredential(source.admin);
  return { api: new JFrogApi(source, admin, ports.http, () => ports.clock.now().getTime()), source };
}

/**
 * Independent tokens: no slots. createSecret creates a token described with the rotation's
 * version (revoking one a crashed attempt left under that description first: its value was shown
 * once and is lost); it is live at once, so there is no setSecret work. Not refreshable: a refresh
 * would mint a new token id anyway, and the next rotation does that. The revocation revokes the
 * tokens described with the superseded version; a version pullkeeper did not make (the first
 * secret, written by a person) carries no such description and is left for a person to revoke.
 */
const runtime: SourceRuntime = {
  issuer: (registry, ports) => ({
    issue: async ({ versionId }) => {
      const { api, source } = await session(registry, ports);
      const description = tokenDescription(versionId);
      for (const stale of await api.find(description)) await api.revoke(stale.id);
      return credential(source.username, await api.create(description));
    },
  }),
  revoker: (registry, ports) => ({
    revoke: async (previous) => {
      const { api } = await session(registry, ports);
      for (const token of await api.find(tokenDescription(previous.versionId))) await api.revoke(token.id);
    },
  }),
};
export default runtime;
