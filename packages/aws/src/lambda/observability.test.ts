import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { observability, tracingEnabled, withObservability } from "./observability.js";

/**
 * Outside Lambda nothing traces, so nothing may pay for tracing: loading Powertools' Tracer loads
 * aws-xray-sdk-core, whose cls-hooked namespace (process.namespaces.AWSXRay) turns on async hooks
 * with destroy tracking for every promise of the process (the embedded runtime's deliveries).
 */
describe("tracing is off outside Lambda, and then costs nothing", () => {
  it("follows Powertools' rule for when the Tracer traces", () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x" })).toBe(true);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x", POWERTOOLS_TRACE_ENABLED: "FALSE" })).toBe(false);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x", AWS_SAM_LOCAL: "true" })).toBe(false);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: "AWS_Lambda_amplify-mock" })).toBe(false);
  });

  it("installs no X-Ray context hooks and leaves SDK clients as they are", async () => {
    expect(tracingEnabled()).toBe(false);
    const { tracer, logger, metrics } = observability("test-no-tracing");
    const handler = withObservability(async (event: { n: number }) => event.n + 1, { tracer, logger, metrics }, { metrics: false });
    expect(await handler({ n: 1 }, { functionName: "f", awsRequestId: "r" } as never)).toBe(2);
    const client = new DynamoDBClient({ region: "eu-west-1" });
    expect(tracer.captureAWSv3Client(client)).toBe(client);
    client.destroy();
    expect((process as { namespaces?: Record<string, unknown> }).namespaces?.AWSXRay).toBeUndefined();
  });
});
