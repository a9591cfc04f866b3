import { randomUUID } from "node:crypto";
import { credential, type Registry, SOURCE_MODULES, type SourcePorts, systemClock, modelSource, type RegistrySource } from "@pullkeeper/core";
import { FetchProviderHttp, RandomPasswords } from "@pullkeeper/registry";
import { startCredentialRegistry } from "../support/credential-registry.js";
import { FakeDockerHub } from "../support/fake-dockerhub.js";
import type { ProviderFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

/**
 * The Docker Hub source's contract entry: its runtime (the module's `load()`) issues a token
 * through the fake Docker Hub, whose requests are checked against Docker Hub's API description,
 * and which installs every token it mints in a real docker-registry, so "the upstream holds it" is
 * the registry's own answer. One entry per variant: organization and personal access tokens.
 */
export function dockerHubEntry(variant: "organization" | "personal"): SourceContractEntry {
  return {
    sourceType: "dockerhub-token",
    variant,
    async start(): Promise<SourceHarness> {
      const module = SOURCE_MODULES.find((m) => m.type === "dockerhub-token");
      const runtime = (await module?.load?.())?.default;
      if (module === undefined || runtime?.issuer === undefined) throw new Error("no dockerhub-token module with an issuer");
      const registry = await startCredentialRegistry();
      const hub = await FakeDockerHub.start({ registry, orgs: ["acme"] });
      const parsed = module.schema.parse({ type: "dockerhub-token", admin: "pullkeeper/dockerhub-admin", ...(variant === "organization" && { organization: "acme" }), api: hub.url });
      const entry = { id: "hub", host: registry.host, kind: "dockerhub", secret: "pullkeeper/hub", source: modelSource(parsed as RegistrySource) } as Registry;
      const admin = hub.adminLogin;
      const ports: SourcePorts = {
        accounts: () => {
          throw new Error("Docker Hub keeps no password file");
        },
        passwords: new RandomPasswords(),
        http: new FetchProviderHttp({ timeoutMs: 1000 }),
        adminCredential: async () => credential(admin.identifier, admin.secret),
        clock: systemClock,
      };
      const issuer = runtime.issuer(entry, ports);
      const produced: string[] = [admin.secret];
      const every = () => true;
      const faults: Record<ProviderFault, () => void> = {
        admin_rejected: () => hub.setAdminSecret(`another-${randomUUID()}`),
        quota: () => {
          hub.maxTokens = 0;
        },
        throttled_retry_after: () => hub.failNext({ status: 429, headers: { "retry-after": "30" }, match: every }),
        throttled: () => hub.failNext({ status: 429, match: every }),
        server: () => hub.failNext({ status: 503, match: every }),
        reset: () => hub.failNext({ kind: "reset", match: every }),
        hang: () => hub.failNext({ kind: "hang", match: every }),
      };
      return {
        obtain: async () => {
          const versionId = randomUUID();
          const issued = await issuer.issue({ versionId });
          produced.push(issued.password.reveal());
          const expiresAt = hub.tokens().find((t) => t.label === `pullkeeper ${versionId}`)?.expiresAt;
          return { credential: issued, ...(expiresAt && { expiresAt: new Date(expiresAt) }) };
        },
        holds: async (c) => (await registry.basic(c.username, c.password.reveal())) === 200,
        values: () => produced,
        failProvider: (fault) => faults[fault](),
        // Created (201) but without the token: nothing usable, and nothing to quote back.
        breakUpstream: () => hub.failNext({ status: 201, body: { id: randomUUID(), label: "pullkeeper", is_active: true }, match: (r) => r.method === "POST" && r.path.endsWith("/access-tokens") }),
        close: async () => {
          const violations = [...hub.violations];
          await hub.stop();
          await registry.stop();
          // Every request the source sent must match Docker Hub's description of the operation.
          if (violations.length > 0) throw new Error(`requests departing from Docker Hub's API description: ${violations.join("; ")}`);
        },
      };
    },
  };
}
