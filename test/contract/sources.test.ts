import { configSchema, SOURCE_MODULES } from "@pullkeeper/core";
import { describe, expect, it } from "vitest";
import { sourceContract } from "./source-contract.js";
import { SOURCE_ENTRIES } from "./source-entries.js";

/** The source types the config accepts, read from its schema (registries[].source's union). */
function configSourceTypes(): string[] {
  type Node = { def: { type: string; element?: Node; options?: Node[] }; shape?: Record<string, Node & { def: { values?: string[] } }> };
  const registries = (configSchema as unknown as { shape: Record<string, Node> }).shape["registries"];
  const registry = registries?.def.element;
  const union = registry?.shape?.["source"];
  return (union?.def.options ?? []).flatMap((o) => o.shape?.["type"]?.def.values ?? []);
}

describe("source contract coverage", () => {
  it("has an entry for every registered source module, and none for a type no module registers", () => {
    const registered = SOURCE_MODULES.map((m) => m.type).sort();
    expect(registered.length).toBeGreaterThan(0);
    expect([...new Set(SOURCE_ENTRIES.map((e) => e.sourceType))].sort()).toEqual(registered);
  });

  it("covers what the config accepts: its source union is the registered modules' schemas", () => {
    expect(configSourceTypes()).toEqual(SOURCE_MODULES.map((m) => m.type));
  });

  it("has one entry per ECR token kind", () => {
    expect(SOURCE_ENTRIES.filter((e) => e.sourceType === "ecr-token").map((e) => e.variant)).toEqual(["ecr", "ecr-public"]);
  });
});

sourceContract(SOURCE_MODULES, SOURCE_ENTRIES);
