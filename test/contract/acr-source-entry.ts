import { randomUUID } from "node:crypto";
import { credential, type Registry, SOURCE_MODULES, type SourcePorts, systemClock, modelSource, type RegistrySource } from "@pullkeeper/core";
import { FetchProviderHttp, RandomPasswords } from "@pullkeeper/registry";
import { startCredentialRegistry } from "../support/credential-registry.js";
import { ACR_ADMIN, ACR_SUBSCRIPTION, ACR_TENANT, defaultAcrOptions, FakeAcr } from "../support/fake-acr.js";
import type { ProviderFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

/**
 * The ACR source's contract entry: its runtime (the module's `load()`) signs in at the fake Entra
 * ID and regenerates the first of the token's two password slots through the fake ARM, whose
 * requests are checked against ARM's ACR description, and which installs each password in a real
 * docker-registry, so "the upstream holds it" is the registry's own answer. One entry per way
 * GenerateCredentials may answer: 200 with the password, or 202 with a Location to poll.
 */
export function acrEntry(variant: "200" | "202 + Location"): SourceContractEntry {
  return {
    sourceType: "acr-token",
    variant,
    async start(): Promise<SourceHarness> {
      const module = SOURCE_MODULES.find((m) => m.type === "acr-token");
      const runtime = (await module?.load?.())?.default;
      if (module === undefined || runtime?.issuer === undefined) throw new Error("no acr-token module with an issuer");
      const registry = await startCredentialRegistry();
      const acr = await FakeAcr.start(defaultAcrOptions(registry));
      if (variant === "202 + Location") acr.longRunning = { polls: 1 };
      const parsed = module.schema.parse({
        type: "acr-token",
        admin: "pullkeeper/acr-admin",
        subscription: ACR_SUBSCRIPTION,
        resourceGroup: "pullkeeper-rg",
        registry: "pullkeeperacr",
        token: "pullkeeper",
        api: acr.url,
        login: acr.url,
      });
      const entry = { id: "acr", host: registry.host, kind: "acr", secret: "pullkeeper/acr", source: modelSource(parsed as RegistrySource) } as Registry;
      const ports: SourcePorts = {
        accounts: () => {
          throw new Error("ACR keeps no password file");
        },
        passwords: new RandomPasswords(),
        http: new FetchProviderHttp({ timeoutMs: 1000 }),
        adminCredential: async () => credential(`${ACR_TENANT}/${ACR_ADMIN.clientId}`, ACR_ADMIN.clientSecret),
        clock: systemClock,
      };
      const issuer = runtime.issuer(entry, ports);
      const slot = issuer.slots?.[0];
      if (slot === undefined) throw new Error("the acr-token issuer has no slots");
      const stray = `stray-${randomUUID()}`;
      const produced: string[] = [ACR_ADMIN.clientSecret, stray];
      const every = () => true;
      const faults: Record<ProviderFault, () => void | false> = {
        admin_rejected: () => {
          acr.admin = { ...ACR_ADMIN, clientSecret: `another-${randomUUID()}` };
        },
        // Regenerating a token's password meets no limit at ARM: nothing to reach.
        quota: () => false,
        throttled_retry_after: () => acr.failNext({ status: 429, headers: { "retry-after": "30" }, match: every }),
        throttled: () => acr.failNext({ status: 429, match: every }),
        server: () => acr.failNext({ status: 503, match: every }),
        reset: () => acr.failNext({ reset: true, match: every }),
        hang: () => acr.failNext({ hang: true, match: every }),
      };
      return {
        obtain: async () => {
          const issued = await issuer.issue({ slot, versionId: randomUUID() });
          produced.push(issued.password.reveal());
          const expiry = acr.token("pullkeeper")?.passwords.find((p) => p.name === slot)?.expiry;
          return { credential: issued, ...(expiry !== undefined && { expiresAt: new Date(expiry) }) };
        },
        holds: async (c) => (await registry.basic(c.username, c.password.reveal())) === 200,
        values: () => produced,
        failProvider: (fault) => faults[fault](),
        // The other slot's password, not the one asked for: unusable, and its value must not be quoted back.
        breakUpstream: () =>
          acr.failNext({
            status: 200,
            body: { username: "pullkeeper", passwords: [{ name: "password2", value: stray, creationTime: new Date().toISOString() }] },
            match: (r) => r.method === "POST" && r.path.endsWith("/generateCredentials"),
          }),
        close: async () => {
          const violations = [...acr.violations];
          await acr.close();
          await registry.stop();
          // Every ARM request the source sent must match the description of the operation.
          if (violations.length > 0) throw new Error(`requests departing from ARM's ACR description: ${violations.join("; ")}`);
        },
      };
    },
  };
}
