import { randomUUID } from "node:crypto";
import { FakeQuay, QUAY_ADMIN_TOKEN } from "../support/fake-quay.js";
import { providerSourceEntry } from "./provider-source-entry.js";
import type { SourceContractEntry } from "./source-contract.js";

/**
 * The Quay source's contract entry: its runtime issues a robot token into the first of its two
 * slots through the fake Quay, whose requests are checked against Quay's API description, and
 * which installs each robot's token in a real docker-registry. One entry per variant: organization
 * and user robots.
 */
export function quayEntry(variant: "organization" | "user"): SourceContractEntry {
  const namespace = variant === "organization" ? "acme" : "alice";
  return providerSourceEntry({
    sourceType: "quay-robot",
    variant,
    provider: "Quay",
    registry: { id: "quay", kind: "quay" },
    startFake: (registry) => FakeQuay.start({ registry, token: QUAY_ADMIN_TOKEN, user: "alice", orgs: ["acme"] }),
    source: (quay) => ({ admin: "pullkeeper/quay-admin", ...(variant === "organization" ? { organization: "acme" } : { user: "alice" }), api: quay.url }),
    obtain: { by: "issuer", admin: () => ({ username: "pullkeeper", secret: QUAY_ADMIN_TOKEN }), slotted: true },
    failNext: (quay, failure) => quay.failNext(failure),
    faults: (quay) => ({
      admin_rejected: () => {
        quay.token = `another-${randomUUID()}`;
      },
      // Quay has no limit on the number of robots (nor on their tokens): nothing to reach.
      quota: () => false,
    }),
    // Created (201) but without the token: nothing usable, and nothing to quote back.
    breakUpstream: (quay, { slot }) =>
      quay.failNext({ status: 201, body: { name: `${namespace}+${slot}`, created: new Date().toUTCString(), last_accessed: null, description: "" }, match: (r) => r.method === "PUT" }),
    violations: (quay) => quay.violations,
    stopFake: (quay) => quay.close(),
  });
}
