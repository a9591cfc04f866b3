import { parseConfig, type RotatedRegistry, RotationService, type RotationStep } from "@pullkeeper/core";
import { describe, expect, it, vi } from "vitest";
import { createRotateHandler, registryForSecret } from "../../functions/rotate.js";
import { fixture } from "../support/fixtures.js";
import { lambdaContext } from "../support/lambda.js";

const context = lambdaContext("rotate");
const withToken = fixture<Record<string, unknown>>("aws-rotation-lambda/rotation-invocation.createSecret.with-RotationToken.aws-lambda-go.verbatim.json");
const powertools = fixture<Record<string, unknown>>("aws-rotation-lambda/rotation-invocation.createSecret.powertools.verbatim.json");

const config = parseConfig(`
registries:
  - id: local
    host: registry.internal:5000
    kind: generic
    source: { type: htpasswd, file: /mnt/registry/htpasswd }
    secret: MyTestDatabaseSecret
  - id: ecr
    host: 111122223333.dkr.ecr.us-east-1.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "111122223333", region: us-east-1 }
    secret: arn:aws:secretsmanager:us-east-1:111122223333:secret:id-ABCD1E
`);

function harness() {
  const calls: [RotationStep, string, string][] = [];
  const service = { step: vi.fn(async (step: RotationStep, registry: RotatedRegistry, token: string) => void calls.push([step, registry.id, token])) } as unknown as RotationService;
  const runtime = vi.fn(async () => ({ config, service }));
  return { handler: createRotateHandler(runtime), calls, runtime };
}

describe("functions/rotate", () => {
  it("runs the step Secrets Manager names, for the registry whose secret it is (name or full ARN)", async () => {
    const { handler, calls } = harness();
    await handler(powertools, context);
    expect(calls).toEqual([["createSecret", "local", "550e8400-e29b-41d4-a716-446655440000"]]);
  });

  it("accepts the RotationToken field newer invocations carry, and refuses a registry it does not rotate", async () => {
    const { handler, calls } = harness();
    await expect(handler(withToken, context)).rejects.toThrow(/registry ecr has source ecr-token; pullkeeper rotates only htpasswd registries/);
    expect(calls).toEqual([]);
  });

  it("rejects an unknown step or a missing token with the field named, before building anything", async () => {
    const { handler, runtime } = harness();
    await expect(handler({ ...powertools, Step: "deleteSecret" }, context)).rejects.toThrow(/Step:/);
    const { ClientRequestToken: _t, ...noToken } = powertools;
    await expect(handler(noToken, context)).rejects.toThrow(/ClientRequestToken:/);
    expect(runtime).not.toHaveBeenCalled();
  });

  it("says which secret has no registry", () => {
    expect(() => registryForSecret(config, "arn:aws:secretsmanager:us-east-1:1:secret:unknown-AbCdEf")).toThrow(/no registry in the config uses secret/);
  });
});
