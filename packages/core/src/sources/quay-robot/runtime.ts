import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import type { StoredCredential } from "../../model/ports.js";
import { ProviderError } from "../../model/provider-api.js";
import type { SourcePorts, SourceRuntime } from "../../model/source-module.js";
import { QuayApi } from "./api.js";
import { namespaceOf, type QuayRobotSource } from "./source.js";

async function session(registry: Registry, ports: SourcePorts): Promise<{ api: QuayApi; source: QuayRobotSource }> {
  const source = registry.source as QuayRobotSource;
  const admin = await ports.adminCredential(source.admin);
  return { api: new QuayApi(source, ports.http, admin, () => ports.clock.now().getTime()), source };
}

/** The robot (short name) a stored login is, or undefined for a login that is not one of the source's two robots. */
function robotOf(source: QuayRobotSource, stored: StoredCredential): string | undefined {
  const [namespace, shortname] = stored.credential.username.split("+", 2);
  return namespace === namespaceOf(source) && shortname !== undefined && source.robots.includes(shortname) ? shortname : undefined;
}

/**
 * Two robots take turns (slots): the rotation frees the idle one first (its last token revoked),
 * then createSecret regenerates its token, or creates the robot the first time (its token is the
 * create answer's). Regenerating is idempotent enough for a retried step: it only ever touches
 * the idle robot, whose last token nobody holds. The token is live at once: no setSecret work.
 *
 * The revocation regenerates the previous robot's token and drops the answer, so the old token
 * stops opening the registry while the robot, and its repository permissions, stay. A previous
 * login that is not one of the two robots (the first secret, written by a person) is left alone.
 */
const runtime: SourceRuntime = {
  issuer: (registry, ports) => {
    const source = registry.source as QuayRobotSource;
    return {
      slots: source.robots,
      slotOf: (stored) => robotOf(source, stored),
      issue: async ({ slot }) => {
        const { api } = await session(registry, ports);
        const shortname = slot ?? source.robots[0];
        const login = `${namespaceOf(source)}+${shortname}`;
        const token = (await api.regenerate(shortname)) ?? (await api.create(shortname, `pullkeeper: registry ${registry.id}; its token is rotated by pullkeeper`)) ?? (await api.regenerate(shortname));
        if (token === undefined) throw new ProviderError("provider_refused", `Quay: robot ${login} exists by its create answer but not by its regenerate answer`);
        return credential(login, token);
      },
    };
  },
  revoker: (registry, ports) => ({
    revoke: async (previous, current) => {
      const source = registry.source as QuayRobotSource;
      const robot = robotOf(source, previous);
      // The same robot's token was already replaced by the regenerate that made the current one.
      if (robot === undefined || robot === robotOf(source, current)) return;
      const { api } = await session(registry, ports);
      await api.regenerate(robot);
    },
  }),
};
export default runtime;
