import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GENERATED_FILE, render, sdkPartitions } from "../../scripts/generate-aws-regions.js";

describe("the AWS regions the config accepts", () => {
  it("are the installed AWS SDK's: packages/core/src/config/aws-regions.generated.ts is what the script writes now", async () => {
    expect(readFileSync(GENERATED_FILE, "utf8"), "stale: run npx tsx scripts/generate-aws-regions.ts").toBe(render(await sdkPartitions()));
  });
});
