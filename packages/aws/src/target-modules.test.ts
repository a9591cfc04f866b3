import type { DeliveryTarget } from "@pullkeeper/core";
import { beforeAll, describe, expect, it } from "vitest";
import { configuredKinds, deliveryTargets } from "./lambda/propagation-runtime.js";
import { DEFAULT_RATE_LIMITS, TARGET_MODULES, undeclaredSearches } from "./target-modules.js";

describe("TARGET_MODULES", () => {
  let targets: Map<string, DeliveryTarget>;
  beforeAll(async () => {
    targets = await deliveryTargets();
  });

  it("lists each kind once, and deliveryTargets() builds exactly those kinds from the modules", () => {
    const kinds = TARGET_MODULES.map((m) => m.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect([...targets.keys()]).toEqual(kinds);
  });

  it("describes each target as it is: the same schema, the provider and capabilities it implements", () => {
    for (const m of TARGET_MODULES) {
      const target = targets.get(m.kind);
      expect(target?.schema, m.kind).toBe(m.schema);
      expect({ kind: m.kind, discover: typeof target?.discoverEnvironments === "function", restart: typeof target?.restartEnvironment === "function" }).toEqual({
        kind: m.kind,
        discover: m.capabilities.discoverEnvironments,
        restart: m.capabilities.restart,
      });
      expect(m.environmentKind !== undefined, m.kind).toBe(m.capabilities.discoverEnvironments);
    }
  });

  it("adds extra targets, and gives the GitHub kinds one shared client per call", async () => {
    const extra = { ...(targets.get("webhook") as DeliveryTarget), kind: "carrier-pigeon" } as DeliveryTarget;
    const withExtra = await deliveryTargets({ extra: [extra] });
    expect(withExtra.get("carrier-pigeon")).toBe(extra);
    const client = (t: DeliveryTarget | undefined) => Object.values(t ?? {}).find((v) => v?.constructor?.name === "GitHubSecretsClient");
    const shared = ["codespaces-secret", "github-actions-secret", "dependabot-secret"].map((kind) => client(withExtra.get(kind)));
    expect(shared[0]).toBeDefined();
    expect(new Set(shared).size).toBe(1);
    expect(client(targets.get("codespaces-secret"))).not.toBe(shared[0]);
  });

  it("builds only the kinds the config uses when asked (a cold start loads no other kind's clients)", async () => {
    const config = { consumers: [{ target: { kind: "webhook" } }, { target: { kind: "kubernetes-secret" } }, { target: { kind: "webhook" } }] };
    const some = await deliveryTargets({ kinds: configuredKinds(config) });
    expect([...some.keys()].sort()).toEqual(["kubernetes-secret", "webhook"]);
  });

  it("reads the secrets a consumer names, and nothing from a block that names none", () => {
    const read = (kind: string, target: Record<string, unknown>) => TARGET_MODULES.find((m) => m.kind === kind)?.secretsRead({ kind, ...target });
    expect(read("github-actions-secret", { tokenSecret: "gh-token", signingSecret: "x" })).toEqual(["gh-token"]);
    expect(read("gitpod-secret", { tokenSecret: "gp-token" })).toEqual(["gp-token"]);
    expect(read("webhook", { signingSecret: "hook-key", tokenSecret: "x" })).toEqual(["hook-key"]);
    expect(read("kubernetes-secret", { tokenSecret: "x" })).toEqual([]);
    for (const m of TARGET_MODULES) expect(m.secretsRead({ kind: m.kind, tokenSecret: 7, signingSecret: 7 }), m.kind).toEqual([]);
  });

  it("derives the providers' default rate limits, one value per provider", () => {
    expect(DEFAULT_RATE_LIMITS).toEqual({ github: 80 / 60, gitpod: 5, "aws:codebuild": 10, "aws:ecs": 10, "aws:secretsmanager": 20, kubernetes: 20 });
    for (const m of TARGET_MODULES) if (m.defaultRateLimit !== undefined) expect(DEFAULT_RATE_LIMITS[m.provider], m.kind).toBe(m.defaultRateLimit);
  });

  it("loads the undeclared-consumer search of each kind that declares one", async () => {
    const searches = await undeclaredSearches();
    expect(searches.map((s) => s.kind)).toEqual(TARGET_MODULES.filter((m) => m.loadUndeclaredSearch).map((m) => m.kind));
    expect(searches.length).toBeGreaterThan(0);
  });
});
