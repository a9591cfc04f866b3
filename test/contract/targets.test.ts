import { describe, expect, it } from "vitest";
import { deliveryTargets } from "../../packages/aws/src/lambda/propagation-runtime.js";
import { targetContract } from "./target-contract.js";
import { TARGET_ENTRIES } from "./target-entries.js";

describe("target contract coverage", () => {
  it("has an entry for every kind the runtime registers, and none for a kind it does not", async () => {
    const registered = [...(await deliveryTargets()).keys()].sort();
    expect(TARGET_ENTRIES.map((e) => e.kind).sort()).toEqual(registered);
  });
});

targetContract(TARGET_ENTRIES);
