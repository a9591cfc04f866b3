import { randomUUID } from "node:crypto";
import { ACR_ADMIN, ACR_SUBSCRIPTION, ACR_TENANT, defaultAcrOptions, FakeAcr } from "../support/fake-acr.js";
import { providerSourceEntry } from "./provider-source-entry.js";
import type { SourceContractEntry } from "./source-contract.js";

/**
 * The ACR source's contract entry: its runtime signs in at the fake Entra ID and regenerates the
 * first of the token's two password slots through the fake ARM, whose requests are checked against
 * ARM's ACR description, and which installs each password in a real docker-registry. One entry per
 * way GenerateCredentials may answer: 200 with the password, or 202 with a Location to poll.
 */
export function acrEntry(variant: "200" | "202 + Location"): SourceContractEntry {
  return providerSourceEntry({
    sourceType: "acr-token",
    variant,
    provider: "ACR",
    description: "ARM's ACR description",
    registry: { id: "acr", kind: "acr" },
    startFake: async (registry) => {
      const acr = await FakeAcr.start(defaultAcrOptions(registry));
      if (variant === "202 + Location") acr.longRunning = { polls: 1 };
      return acr;
    },
    source: (acr) => ({
      admin: "pullkeeper/acr-admin",
      subscription: ACR_SUBSCRIPTION,
      resourceGroup: "pullkeeper-rg",
      registry: "pullkeeperacr",
      token: "pullkeeper",
      api: acr.url,
      login: acr.url,
    }),
    obtain: {
      by: "issuer",
      admin: () => ({ username: `${ACR_TENANT}/${ACR_ADMIN.clientId}`, secret: ACR_ADMIN.clientSecret }),
      slotted: true,
      expiresAt: (acr, _issued, { slot }) => {
        const expiry = acr.token("pullkeeper")?.passwords.find((p) => p.name === slot)?.expiry;
        return expiry !== undefined ? new Date(expiry) : undefined;
      },
    },
    failNext: (acr, failure) => acr.failNext(failure),
    faults: (acr) => ({
      admin_rejected: () => {
        acr.admin = { ...ACR_ADMIN, clientSecret: `another-${randomUUID()}` };
      },
      // Regenerating a token's password meets no limit at ARM: nothing to reach.
      quota: () => false,
    }),
    // The other slot's password, not the one asked for: unusable, and its value must not be quoted back.
    breakUpstream: (acr, { keepHidden }) => {
      const stray = `stray-${randomUUID()}`;
      keepHidden(stray);
      acr.failNext({
        status: 200,
        body: { username: "pullkeeper", passwords: [{ name: "password2", value: stray, creationTime: new Date().toISOString() }] },
        match: (r) => r.method === "POST" && r.path.endsWith("/generateCredentials"),
      });
    },
    violations: (acr) => acr.violations,
    stopFake: (acr) => acr.close(),
  });
}
