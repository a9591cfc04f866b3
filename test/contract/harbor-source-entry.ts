import { randomUUID } from "node:crypto";
import { FakeHarbor, HARBOR_ADMIN } from "../support/fake-harbor.js";
import { providerSourceEntry } from "./provider-source-entry.js";
import type { SourceContractEntry } from "./source-contract.js";

const basic = `Basic ${Buffer.from(`${HARBOR_ADMIN.username}:${HARBOR_ADMIN.password}`).toString("base64")}`;

/**
 * The Harbor source's contract entry: its runtime issues a robot's secret into the first of its two
 * slots through the fake Harbor, whose requests are checked against Harbor's API description, and
 * which installs each robot's secret in a real docker-registry. Two variants: a project robot made
 * anew (Harbor's creation answer carries its secret), and a system robot that exists already,
 * disabled and about to expire (renewed, re-enabled, its secret refreshed).
 */
export function harborEntry(variant: "project, new robot" | "system, existing robot"): SourceContractEntry {
  const existing = variant === "system, existing robot";
  return providerSourceEntry({
    sourceType: "harbor-robot",
    variant,
    provider: "Harbor",
    registry: { id: "harbor", kind: "generic" },
    startFake: (registry) => FakeHarbor.start({ registry, admin: HARBOR_ADMIN }),
    source: (harbor) => ({ admin: "pullkeeper/harbor-admin", api: harbor.url.replace(/\/api\/v2\.0$/, ""), ...(!existing && { project: "library" }) }),
    obtain: {
      by: "issuer",
      admin: () => ({ username: HARBOR_ADMIN.username, secret: HARBOR_ADMIN.password }),
      slotted: true,
      prepare: async (harbor, { slot, keepHidden }) => {
        if (!existing) return;
        const made = await fetch(`${harbor.url}/robots`, {
          method: "POST",
          headers: { authorization: basic, "content-type": "application/json" },
          body: JSON.stringify({ name: slot, level: "system", disable: true, duration: 1, permissions: [{ kind: "project", namespace: "*", access: [{ resource: "repository", action: "pull" }] }] }),
        });
        keepHidden(((await made.json()) as { secret: string }).secret);
      },
      expiresAt: (harbor, issued) => {
        const expiresAt = harbor.robots().find((r) => r.name === issued.username)?.expiresAt;
        return expiresAt !== undefined && expiresAt !== -1 ? new Date(expiresAt * 1000) : undefined;
      },
    },
    failNext: (harbor, failure) => harbor.failNext(failure),
    faults: (harbor) => ({
      admin_rejected: () => {
        harbor.admin = { username: HARBOR_ADMIN.username, password: `another-${randomUUID()}` };
      },
      // The robot exists: nothing is created, so no quota can be reached.
      quota: () => {
        if (existing) return false;
        harbor.maxRobots = 0;
      },
    }),
    // Created (201) or refreshed (200), but without the secret: nothing usable, and nothing to quote back.
    breakUpstream: (harbor, { slot }) =>
      existing
        ? harbor.failNext({ status: 200, body: {}, match: (r) => r.method === "PATCH" })
        : harbor.failNext({ status: 201, body: { id: 41, name: `robot$library+${slot}`, creation_time: new Date().toISOString(), expires_at: -1 }, match: (r) => r.method === "POST" }),
    violations: (harbor) => harbor.violations,
    stopFake: (harbor) => harbor.close(),
  });
}
