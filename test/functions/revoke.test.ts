import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { auditActionsFromEnvironment, scheduledEvent } from "@pullkeeper/aws/lambda";
import { AuditApi } from "@pullkeeper/api";
import { parseConfig, PullkeeperError, type Registry, type RevocationService, type RollbackResult } from "@pullkeeper/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRevokeHandler, type RollbackRuntime } from "../../functions/revoke.js";
import { REGISTRY_YAML } from "../support/registries-yaml.js";
import { lambdaContext } from "../support/lambda.js";

/** functions/revoke: the scheduled revocation, and the rollback the audit API asks for synchronously. */

const context = lambdaContext("revoke");

const config = parseConfig(`registries:
${REGISTRY_YAML.harbor}${REGISTRY_YAML.local}${REGISTRY_YAML.prod}`);

const rolledBack: RollbackResult = { registryId: "harbor", outcome: "rolled-back", versionId: "v3", restoredVersionId: "v1", fromVersionId: "v2" };

function harness(rollback: (registry: Registry) => Promise<RollbackResult> = async () => rolledBack) {
  const revocation = { run: vi.fn(async () => []) };
  const service = { rollback: vi.fn(rollback) };
  const runtime = vi.fn(async () => revocation as unknown as RevocationService);
  const rollbackRuntime = vi.fn(async (): Promise<RollbackRuntime> => ({ registries: config.registries, rollback: service }));
  return { handler: createRevokeHandler(runtime, rollbackRuntime), revocation, service, runtime, rollbackRuntime };
}

const rollbackEvent = (registryId: string) => scheduledEvent({ rollback: registryId });

describe("functions/revoke: rollback", () => {
  it("rolls the named registry back with the lifecycle's RollbackService and answers its result; no revocation run", async () => {
    const { handler, service, revocation, runtime } = harness();
    expect(await handler(rollbackEvent("harbor"), context)).toEqual(rolledBack);
    expect(service.rollback.mock.calls.map(([r]) => r.id)).toEqual(["harbor"]);
    expect(revocation.run).not.toHaveBeenCalled();
    expect(runtime).not.toHaveBeenCalled();
  });

  it.each(["previous_revoked", "rollback_unverified", "no_previous_version", "rotation_in_progress", "previous_expired"])("answers the lifecycle's refusal %s as data, with its code and message", async (code) => {
    const message = `registry harbor: ${code}`;
    const { handler } = harness(async () => {
      throw new PullkeeperError(code, message);
    });
    expect(await handler(rollbackEvent("harbor"), context)).toEqual({ error: { code, message } });
  });

  it("an unknown registry is invalid_input; one this function does not roll back is rollback_unsupported; neither reaches the service", async () => {
    const { handler, service } = harness();
    expect(await handler(rollbackEvent("nope"), context)).toEqual({ error: { code: "invalid_input", message: "registry nope: not in the config" } });
    expect(await handler(rollbackEvent("local"), context)).toMatchObject({ error: { code: "rollback_unsupported" } });
    expect(await handler(rollbackEvent("prod"), context)).toMatchObject({ error: { code: "rollback_unsupported", message: expect.stringContaining("ecr-token") } });
    expect(service.rollback).not.toHaveBeenCalled();
  });

  it("an unexpected error fails the invocation (the API reports it as the function's failure)", async () => {
    const { handler } = harness(async () => {
      throw new TypeError("boom");
    });
    await expect(handler(rollbackEvent("harbor"), context)).rejects.toThrow("boom");
  });

  it("without a rollback runtime (the original signature) a rollback request is answered not_implemented", async () => {
    const revocation = { run: vi.fn(async () => []) };
    const handler = createRevokeHandler(async () => revocation as unknown as RevocationService);
    expect(await handler(rollbackEvent("harbor"), context)).toMatchObject({ error: { code: "not_implemented" } });
    expect(await handler(scheduledEvent({}), context)).toEqual({ results: [] });
    expect(revocation.run).toHaveBeenCalledWith(undefined);
  });
});

describe("functions/revoke: the event", () => {
  it("a schedule tick revokes all registries, or the ones named", async () => {
    const { handler, revocation, rollbackRuntime } = harness();
    expect(await handler(scheduledEvent({}), context)).toEqual({ results: [] });
    await handler(scheduledEvent({ registryIds: ["harbor"] }), context);
    expect(revocation.run.mock.calls).toEqual([[undefined], [["harbor"]]]);
    expect(rollbackRuntime).not.toHaveBeenCalled();
  });

  it.each([
    ["both shapes at once", { rollback: "harbor", registryIds: ["harbor"] }],
    ["an empty registry", { rollback: "" }],
    ["an unknown field", { rollback: "harbor", force: true }],
    ["an unknown field next to registryIds", { registryIds: ["harbor"], force: true }],
    ["a registry that is not a string", { rollback: 42 }],
  ])("rejects %s before building anything", async (_what, detail) => {
    const { handler, runtime, rollbackRuntime } = harness();
    await expect(handler(scheduledEvent(detail), context)).rejects.toThrow(/revoke event/);
    expect(runtime).not.toHaveBeenCalled();
    expect(rollbackRuntime).not.toHaveBeenCalled();
  });
});

describe("the audit API's rollback through the revoke function (round trip)", () => {
  const lambda = mockClient(LambdaClient);
  const saved = { ...process.env };
  beforeEach(() => {
    process.env.PULLKEEPER_REVOKE_FUNCTION = "pullkeeper-revoke";
    process.env.AWS_REGION = "eu-west-1";
    lambda.reset();
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  /** Lambda, played by the revoke handler: the API's event must pass its validation, its answer must come back as the API's response. */
  function wire(rollback: (registry: Registry) => Promise<RollbackResult>) {
    const { handler } = harness(rollback);
    lambda.on(InvokeCommand).callsFake(async (input: { Payload: Uint8Array }) => {
      const result: unknown = await handler(JSON.parse(Buffer.from(input.Payload).toString("utf8")), context);
      return { StatusCode: 200, Payload: Buffer.from(JSON.stringify(result)) };
    });
    return new AuditApi({ registries: config.registries, ledger: {} as never, actions: auditActionsFromEnvironment(() => config) });
  }
  const rollbackOf = (api: AuditApi, id: string) => api.handle({ method: "POST", path: `/v1/registries/${id}/rollback`, query: {} });

  it("200 with the rollback's result", async () => {
    expect(await rollbackOf(wire(async () => rolledBack), "harbor")).toEqual({ status: 200, body: rolledBack });
  });

  it("409 with the lifecycle's code and message", async () => {
    const api = wire(async () => {
      throw new PullkeeperError("previous_revoked", "registry harbor: version v1 was revoked at 2025-01-01T00:00:00.000Z (unused); it cannot come back");
    });
    expect(await rollbackOf(api, "harbor")).toEqual({
      status: 409,
      body: { code: "previous_revoked", message: "registry harbor: version v1 was revoked at 2025-01-01T00:00:00.000Z (unused); it cannot come back" },
    });
  });
});
