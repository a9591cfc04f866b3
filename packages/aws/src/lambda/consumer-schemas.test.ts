import { describe, expect, it } from "vitest";
import { CONSUMER_SCHEMAS } from "./consumer-schemas.js";
import { deliveryTargets } from "./propagation-runtime.js";

describe("CONSUMER_SCHEMAS", () => {
  it("names exactly the kinds the delivery worker registers, with the very same schemas", async () => {
    const targets = await deliveryTargets();
    expect([...CONSUMER_SCHEMAS.keys()].sort()).toEqual([...targets.keys()].sort());
    for (const [kind, target] of targets) expect(CONSUMER_SCHEMAS.get(kind)?.schema, kind).toBe(target.schema);
  });
});
