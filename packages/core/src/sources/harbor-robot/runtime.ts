import { credential } from "../../model/credential.js";
import type { Registry } from "../../model/model.js";
import { ProviderError } from "../../model/provider-api.js";
import type { SourcePorts, SourceRuntime } from "../../model/source-module.js";
import { HarborApi } from "./api.js";
import { type HarborRobotSource, robotLogin } from "./source.js";

async function session(registry: Registry, ports: SourcePorts): Promise<{ api: HarborApi; source: HarborRobotSource }> {
  const source = registry.source as HarborRobotSource;
  const admin = await ports.adminCredential(source.admin);
  return { api: new HarborApi(source, ports.http, admin, () => ports.clock.now().getTime()), source };
}

/** The robot (slot) a login belongs to; undefined for a login pullkeeper did not make (the first secret, written by a person). */
export function robotOf(source: HarborRobotSource, username: string): string | undefined {
  return source.robots.find((name) => robotLogin(source, name) === username);
}

/**
 * Two robots, one secret each: the next credential goes to the idle robot (the rotation has freed
 * it: its previous secret is revoked first). A robot that is missing is created pull-only and its
 * creation's secret is the credential; one that exists is renewed (enabled, living `lifetime`
 * from now) and its secret refreshed, which is live at once: there is no setSecret work. A
 * retried createSecret refreshes again; the secret an interrupted attempt got was never stored.
 */
const runtime: SourceRuntime = {
  issuer: (registry, ports) => {
    const source = registry.source as HarborRobotSource;
    return {
      slots: source.robots,
      slotOf: (stored) => robotOf(source, stored.credential.username),
      issue: async ({ slot }) => {
        const { api } = await session(registry, ports);
        const name = slot ?? source.robots[0];
        let robot = await api.find(name);
        if (robot === undefined) {
          const created = await api.create(name, `pullkeeper: registry ${registry.id} (pull only)`);
          if (created !== undefined) return credential(created.name, created.secret);
          // Created meanwhile by another caller: refresh that one.
          robot = await api.find(name);
          if (robot === undefined) throw new ProviderError("provider_refused", `Harbor: robot ${name} exists (409) but is not listed`);
        }
        await api.renew(robot);
        const secret = await api.refresh(robot.id);
        if (secret === undefined) throw new ProviderError("provider_refused", `Harbor: robot ${name} was deleted while its secret was refreshed`);
        return credential(robot.name, secret);
      },
    };
  },
  /**
   * Refreshes the previous robot's secret and keeps nothing: the old secret stops opening the
   * registry, and the robot waits for its next turn. Never the current robot's; a login that is no
   * robot of this source (the first, written by a person) is left for a person to remove.
   */
  revoker: (registry, ports) => ({
    revoke: async (previous, current) => {
      const source = registry.source as HarborRobotSource;
      const name = robotOf(source, previous.credential.username);
      if (name === undefined || name === robotOf(source, current.credential.username)) return;
      const { api } = await session(registry, ports);
      const robot = await api.find(name);
      if (robot !== undefined) await api.refresh(robot.id);
    },
  }),
};
export default runtime;
