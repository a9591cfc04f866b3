import { randomUUID } from "node:crypto";
import { FakeDockerHub } from "../support/fake-dockerhub.js";
import type { ScriptedOutcome } from "../support/provider-fake.js";
import { providerSourceEntry } from "./provider-source-entry.js";
import type { SourceContractEntry } from "./source-contract.js";

/** A reset or a hang as Docker Hub's fake scripts it (`kind`). */
function dockerHubFailure(failure: ScriptedOutcome) {
  const { match } = failure;
  if ("reset" in failure) return { kind: "reset" as const, ...(match && { match }) };
  if ("hang" in failure) return { kind: "hang" as const, ...(match && { match }) };
  return failure;
}

/**
 * The Docker Hub source's contract entry: its runtime issues a token through the fake Docker Hub,
 * whose requests are checked against Docker Hub's API description, and which installs every token
 * it mints in a real docker-registry. One entry per variant: organization and personal access tokens.
 */
export function dockerHubEntry(variant: "organization" | "personal"): SourceContractEntry {
  return providerSourceEntry({
    sourceType: "dockerhub-token",
    variant,
    provider: "Docker Hub",
    registry: { id: "hub", kind: "dockerhub" },
    startFake: (registry) => FakeDockerHub.start({ registry, orgs: ["acme"] }),
    source: (hub) => ({ admin: "pullkeeper/dockerhub-admin", ...(variant === "organization" && { organization: "acme" }), api: hub.url }),
    obtain: {
      by: "issuer",
      admin: (hub) => ({ username: hub.adminLogin.identifier, secret: hub.adminLogin.secret }),
      expiresAt: (hub, _issued, { versionId }) => {
        const expiresAt = hub.tokens().find((t) => t.label === `pullkeeper ${versionId}`)?.expiresAt;
        return expiresAt ? new Date(expiresAt) : undefined;
      },
    },
    failNext: (hub, failure) => hub.failNext(dockerHubFailure(failure)),
    faults: (hub) => ({
      admin_rejected: () => hub.setAdminSecret(`another-${randomUUID()}`),
      quota: () => {
        hub.maxTokens = 0;
      },
    }),
    // Created (201) but without the token: nothing usable, and nothing to quote back.
    breakUpstream: (hub) => hub.failNext({ status: 201, body: { id: randomUUID(), label: "pullkeeper", is_active: true }, match: (r) => r.method === "POST" && r.path.endsWith("/access-tokens") }),
    violations: (hub) => hub.violations,
    stopFake: (hub) => hub.stop(),
  });
}
