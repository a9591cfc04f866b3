import { randomUUID } from "node:crypto";
import { credential, type Registry, SOURCE_MODULES, type SourcePorts, systemClock, modelSource, type RegistrySource } from "@pullkeeper/core";
import { FetchProviderHttp, RandomPasswords } from "@pullkeeper/registry";
import { startCredentialRegistry } from "../support/credential-registry.js";
import { FakeHarbor, HARBOR_ADMIN } from "../support/fake-harbor.js";
import type { ProviderFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

const basic = `Basic ${Buffer.from(`${HARBOR_ADMIN.username}:${HARBOR_ADMIN.password}`).toString("base64")}`;

/**
 * The Harbor source's contract entry: its runtime (the module's `load()`) issues a robot's secret
 * into the first of its two slots through the fake Harbor, whose requests are checked against
 * Harbor's API description, and which installs each robot's secret in a real docker-registry, so
 * "the upstream holds it" is the registry's own answer. Two variants: a project robot made anew
 * (Harbor's creation answer carries its secret), and a system robot that exists already, disabled
 * and about to expire (renewed, re-enabled, its secret refreshed).
 */
export function harborEntry(variant: "project, new robot" | "system, existing robot"): SourceContractEntry {
  const existing = variant === "system, existing robot";
  return {
    sourceType: "harbor-robot",
    variant,
    async start(): Promise<SourceHarness> {
      const module = SOURCE_MODULES.find((m) => m.type === "harbor-robot");
      const runtime = (await module?.load?.())?.default;
      if (module === undefined || runtime?.issuer === undefined) throw new Error("no harbor-robot module with an issuer");
      const registry = await startCredentialRegistry();
      const harbor = await FakeHarbor.start({ registry, admin: HARBOR_ADMIN });
      const parsed = module.schema.parse({ type: "harbor-robot", admin: "pullkeeper/harbor-admin", api: harbor.url.replace(/\/api\/v2\.0$/, ""), ...(!existing && { project: "library" }) });
      const entry = { id: "harbor", host: registry.host, kind: "generic", secret: "pullkeeper/harbor", source: modelSource(parsed as RegistrySource) } as Registry;
      const ports: SourcePorts = {
        accounts: () => {
          throw new Error("Harbor keeps no password file");
        },
        passwords: new RandomPasswords(),
        http: new FetchProviderHttp({ timeoutMs: 1000 }),
        adminCredential: async () => credential(HARBOR_ADMIN.username, HARBOR_ADMIN.password),
        clock: systemClock,
      };
      const issuer = runtime.issuer(entry, ports);
      const slot = issuer.slots?.[0];
      if (slot === undefined) throw new Error("the harbor-robot issuer has no slots");
      const produced: string[] = [HARBOR_ADMIN.password];
      if (existing) {
        const made = await fetch(`${harbor.url}/robots`, {
          method: "POST",
          headers: { authorization: basic, "content-type": "application/json" },
          body: JSON.stringify({ name: slot, level: "system", disable: true, duration: 1, permissions: [{ kind: "project", namespace: "*", access: [{ resource: "repository", action: "pull" }] }] }),
        });
        produced.push(((await made.json()) as { secret: string }).secret);
      }
      const every = () => true;
      const faults: Record<ProviderFault, () => void | false> = {
        admin_rejected: () => {
          harbor.admin = { username: HARBOR_ADMIN.username, password: `another-${randomUUID()}` };
        },
        // The robot exists: nothing is created, so no quota can be reached.
        quota: () => {
          if (existing) return false;
          harbor.maxRobots = 0;
        },
        throttled_retry_after: () => harbor.failNext({ status: 429, headers: { "retry-after": "30" }, match: every }),
        throttled: () => harbor.failNext({ status: 429, match: every }),
        server: () => harbor.failNext({ status: 503, match: every }),
        reset: () => harbor.failNext({ reset: true, match: every }),
        hang: () => harbor.failNext({ hang: true, match: every }),
      };
      return {
        obtain: async () => {
          const issued = await issuer.issue({ slot, versionId: randomUUID() });
          produced.push(issued.password.reveal());
          const expiresAt = harbor.robots().find((r) => r.name === issued.username)?.expiresAt;
          return { credential: issued, ...(expiresAt !== undefined && expiresAt !== -1 && { expiresAt: new Date(expiresAt * 1000) }) };
        },
        holds: async (c) => (await registry.basic(c.username, c.password.reveal())) === 200,
        values: () => produced,
        failProvider: (fault) => faults[fault](),
        // Created (201) or refreshed (200), but without the secret: nothing usable, and nothing to quote back.
        breakUpstream: () =>
          existing
            ? harbor.failNext({ status: 200, body: {}, match: (r) => r.method === "PATCH" })
            : harbor.failNext({ status: 201, body: { id: 41, name: `robot$library+${slot}`, creation_time: new Date().toISOString(), expires_at: -1 }, match: (r) => r.method === "POST" }),
        close: async () => {
          const violations = [...harbor.violations];
          await harbor.close();
          await registry.stop();
          // Every request the source sent must match Harbor's description of the operation.
          if (violations.length > 0) throw new Error(`requests departing from Harbor's API description: ${violations.join("; ")}`);
        },
      };
    },
  };
}
