import { randomUUID } from "node:crypto";
import { credential, type Registry, SOURCE_MODULES, type SourcePorts, systemClock, modelSource, type RegistrySource } from "@pullkeeper/core";
import { FetchProviderHttp, RandomPasswords } from "@pullkeeper/registry";
import { startCredentialRegistry } from "../support/credential-registry.js";
import { FakeQuay, QUAY_ADMIN_TOKEN } from "../support/fake-quay.js";
import type { ProviderFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

/**
 * The Quay source's contract entry: its runtime (the module's `load()`) issues a robot token into
 * the first of its two slots through the fake Quay, whose requests are checked against Quay's API
 * description, and which installs each robot's token in a real docker-registry, so "the upstream
 * holds it" is the registry's own answer. One entry per variant: organization and user robots.
 */
export function quayEntry(variant: "organization" | "user"): SourceContractEntry {
  return {
    sourceType: "quay-robot",
    variant,
    async start(): Promise<SourceHarness> {
      const module = SOURCE_MODULES.find((m) => m.type === "quay-robot");
      const runtime = (await module?.load?.())?.default;
      if (module === undefined || runtime?.issuer === undefined) throw new Error("no quay-robot module with an issuer");
      const registry = await startCredentialRegistry();
      const quay = await FakeQuay.start({ registry, token: QUAY_ADMIN_TOKEN, user: "alice", orgs: ["acme"] });
      const namespace = variant === "organization" ? { organization: "acme" } : { user: "alice" };
      const parsed = module.schema.parse({ type: "quay-robot", admin: "pullkeeper/quay-admin", ...namespace, api: quay.url });
      const entry = { id: "quay", host: registry.host, kind: "quay", secret: "pullkeeper/quay", source: modelSource(parsed as RegistrySource) } as Registry;
      const ports: SourcePorts = {
        accounts: () => {
          throw new Error("Quay keeps no password file");
        },
        passwords: new RandomPasswords(),
        http: new FetchProviderHttp({ timeoutMs: 1000 }),
        adminCredential: async () => credential("pullkeeper", QUAY_ADMIN_TOKEN),
        clock: systemClock,
      };
      const issuer = runtime.issuer(entry, ports);
      const slot = issuer.slots?.[0];
      if (slot === undefined) throw new Error("the quay-robot issuer has no slots");
      const produced: string[] = [QUAY_ADMIN_TOKEN];
      const every = () => true;
      const faults: Record<ProviderFault, () => void | false> = {
        admin_rejected: () => {
          quay.token = `another-${randomUUID()}`;
        },
        // Quay has no limit on the number of robots (nor on their tokens): nothing to reach.
        quota: () => false,
        throttled_retry_after: () => quay.failNext({ status: 429, headers: { "retry-after": "30" }, match: every }),
        throttled: () => quay.failNext({ status: 429, match: every }),
        server: () => quay.failNext({ status: 503, match: every }),
        reset: () => quay.failNext({ reset: true, match: every }),
        hang: () => quay.failNext({ hang: true, match: every }),
      };
      return {
        obtain: async () => {
          const issued = await issuer.issue({ slot, versionId: randomUUID() });
          produced.push(issued.password.reveal());
          return { credential: issued };
        },
        holds: async (c) => (await registry.basic(c.username, c.password.reveal())) === 200,
        values: () => produced,
        failProvider: (fault) => faults[fault](),
        // Created (201) but without the token: nothing usable, and nothing to quote back.
        breakUpstream: () =>
          quay.failNext({ status: 201, body: { name: `${variant === "organization" ? "acme" : "alice"}+${slot}`, created: new Date().toUTCString(), last_accessed: null, description: "" }, match: (r) => r.method === "PUT" }),
        close: async () => {
          const violations = [...quay.violations];
          await quay.close();
          await registry.stop();
          // Every request the source sent must match Quay's description of the operation.
          if (violations.length > 0) throw new Error(`requests departing from Quay's API description: ${violations.join("; ")}`);
        },
      };
    },
  };
}
