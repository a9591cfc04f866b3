import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { auditActionsFromEnvironment } from "@pullkeeper/aws/lambda";
import { parseConfig } from "@pullkeeper/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

/** What POST refresh / scan / restart do on AWS: asynchronous invokes of the right functions, refusals named. */

const config = parseConfig(`
registries:
  - { id: prod, host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com, kind: ecr, source: { type: ecr-token, account: "123456789012", region: eu-west-1 }, secret: pullkeeper/prod }
consumers:
  - { id: hook, registry: prod, restart: true, target: { kind: webhook, url: "https://ci.example.com/hook", signingSecret: pullkeeper/webhook-key } }
`);
const registry = config.registries[0] as (typeof config.registries)[number];
const lambda = mockClient(LambdaClient);
const saved = { ...process.env };

beforeEach(() => {
  process.env.PULLKEEPER_REFRESH_FUNCTION = "pullkeeper-refresh";
  process.env.PULLKEEPER_AUDIT_SCAN_FUNCTION = "pullkeeper-audit-scan";
  process.env.AWS_REGION = "eu-west-1";
  lambda.reset();
});
afterEach(() => {
  process.env = { ...saved };
});

const payload = (i: number) => JSON.parse(Buffer.from(lambda.commandCalls(InvokeCommand)[i]?.args[0].input.Payload as Uint8Array).toString("utf8")) as { "detail-type": string; detail: unknown };

describe("audit actions on AWS", () => {
  it("starts the refresh and the scan asynchronously, with a scheduled-event shape their handlers validate", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const actions = auditActionsFromEnvironment(() => config);
    expect(await actions.refresh(registry, { force: true })).toEqual({ outcome: "requested", registry: "prod", force: true });
    expect(await actions.scan?.(["prod"])).toEqual({ outcome: "requested", registries: ["prod"] });
    const calls = lambda.commandCalls(InvokeCommand).map((c) => [c.args[0].input.FunctionName, c.args[0].input.InvocationType]);
    expect(calls).toEqual([["pullkeeper-refresh", "Event"], ["pullkeeper-audit-scan", "Event"]]);
    expect(payload(0)).toMatchObject({ "detail-type": "Scheduled Event", detail: { registryIds: ["prod"], force: true } });
    expect(payload(1)).toMatchObject({ detail: { registryIds: ["prod"] } });
  });

  it("says so when Lambda does not accept the invocation, and when the stack did not set the function", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 500 });
    await expect(auditActionsFromEnvironment(() => config).refresh(registry, { force: false })).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("pullkeeper-refresh") });
    delete process.env.PULLKEEPER_AUDIT_SCAN_FUNCTION;
    await expect(auditActionsFromEnvironment(() => config).scan?.(undefined)).rejects.toThrow(/PULLKEEPER_AUDIT_SCAN_FUNCTION is not set/);
  });

  it("refuses to restart an environment of a kind without a safe restart", async () => {
    const consumer = { id: "hook", registryId: "prod", target: config.consumers[0]?.target as never, restart: true };
    const environment = { externalId: "x", kind: "kubernetes-pod" as const, name: "x" } as never;
    await expect(auditActionsFromEnvironment(() => config).restart?.(consumer, environment)).rejects.toMatchObject({ code: "restart_unsupported" });
  });
});
