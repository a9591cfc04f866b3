import { describe, expect, it } from "vitest";
import { deliveryTargets } from "./lambda/propagation-runtime.js";
import { TARGET_MODULES } from "./target-modules.js";

describe("TARGET_MODULES", () => {
  const targets = deliveryTargets();

  it("lists each kind once, and exactly the kinds the delivery worker registers", () => {
    const kinds = TARGET_MODULES.map((m) => m.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect([...kinds].sort()).toEqual([...targets.keys()].sort());
  });

  it("describes each target as it is: the same schema, the capabilities it implements", () => {
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

  it("reads the secrets a consumer names, and nothing from a block that names none", () => {
    const read = (kind: string, target: Record<string, unknown>) => TARGET_MODULES.find((m) => m.kind === kind)?.secretsRead({ kind, ...target });
    expect(read("github-actions-secret", { tokenSecret: "gh-token", signingSecret: "x" })).toEqual(["gh-token"]);
    expect(read("gitpod-secret", { tokenSecret: "gp-token" })).toEqual(["gp-token"]);
    expect(read("webhook", { signingSecret: "hook-key", tokenSecret: "x" })).toEqual(["hook-key"]);
    expect(read("kubernetes-secret", { tokenSecret: "x" })).toEqual([]);
    for (const m of TARGET_MODULES) expect(m.secretsRead({ kind: m.kind, tokenSecret: 7 }), m.kind).toEqual([]);
  });
});
