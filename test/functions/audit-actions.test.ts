import { InvokeCommand, type InvokeCommandOutput, LambdaClient, TooManyRequestsException } from "@aws-sdk/client-lambda";
import { InvalidRequestException, ResourceNotFoundException, RotateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { auditActionsFromEnvironment, type RollbackAnswer } from "@pullkeeper/aws/lambda";
import { AuditApi } from "@pullkeeper/api";
import { InvalidInputError, parseConfig, PullkeeperError, type RollbackResult } from "@pullkeeper/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REGISTRY_YAML } from "../support/registries-yaml.js";

/** What POST refresh / scan / restart / rollback do on AWS: the right functions invoked the right way, refusals named. */

const config = parseConfig(`registries:
${REGISTRY_YAML.prod}${REGISTRY_YAML.harbor}${REGISTRY_YAML.local}consumers:
  - { id: hook, registry: prod, restart: true, target: { kind: webhook, url: "https://ci.example.com/hook", signingSecret: pullkeeper/webhook-key } }
`);
type ConfiguredRegistry = (typeof config.registries)[number];
const byId = (id: string) => config.registries.find((r) => r.id === id) as ConfiguredRegistry;
const registry = byId("prod");
const harbor = byId("harbor");
const lambda = mockClient(LambdaClient);
const secrets = mockClient(SecretsManagerClient);
const saved = { ...process.env };

beforeEach(() => {
  process.env.PULLKEEPER_REFRESH_FUNCTION = "pullkeeper-refresh";
  process.env.PULLKEEPER_AUDIT_SCAN_FUNCTION = "pullkeeper-audit-scan";
  process.env.PULLKEEPER_REVOKE_FUNCTION = "pullkeeper-revoke";
  process.env.AWS_REGION = "eu-west-1";
  lambda.reset();
  secrets.reset();
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

/** The audit API over the AWS actions: the rollback and refresh routes touch no ledger. */
const apiOver = () => new AuditApi({ registries: config.registries, ledger: {} as never, actions: auditActionsFromEnvironment(() => config) });
const post = (path: string) => apiOver().handle({ method: "POST", path, query: {} });
/** A response payload as the SDK types it (a Uint8Array with helpers; the code reads the bytes). */
const blob = (text: string) => Buffer.from(text) as unknown as NonNullable<InvokeCommandOutput["Payload"]>;
const answer = (value: RollbackAnswer) => ({ StatusCode: 200, Payload: blob(JSON.stringify(value)) });
const rolledBack: RollbackResult = { registryId: "harbor", outcome: "rolled-back", versionId: "v3", restoredVersionId: "v1", fromVersionId: "v2" };

describe("refresh of an htpasswd registry on AWS", () => {
  it("asks Secrets Manager to rotate the registry's secret now, as configured, with a token Secrets Manager makes", async () => {
    secrets.on(RotateSecretCommand).resolves({ ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/harbor-AbCdEf", VersionId: "11111111-2222-3333-4444-555555555555" });
    expect(await auditActionsFromEnvironment(() => config).refresh(harbor, { force: false })).toEqual({ outcome: "requested", registry: "harbor", rotation: "secrets-manager" });
    expect(secrets.commandCalls(RotateSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: "pullkeeper/harbor", RotateImmediately: true }]);
    // Not the refresh function: it only mints tokens.
    expect(lambda.commandCalls(InvokeCommand)).toEqual([]);
  });

  it("an ECR registry still goes to the refresh function", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    await auditActionsFromEnvironment(() => config).refresh(registry, { force: false });
    expect(lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input.FunctionName)).toEqual(["pullkeeper-refresh"]);
    expect(secrets.commandCalls(RotateSecretCommand)).toEqual([]);
  });

  it("a rotation still in progress is rotation_in_progress (409); another refusal is invalid_request (409); other failures keep their class", async () => {
    const refusing = (error: Error) => {
      secrets.reset();
      secrets.on(RotateSecretCommand).rejects(error);
    };
    const inProgress = new InvalidRequestException({ message: "A previous rotation isn't complete. That rotation will be reattempted.", $metadata: {} });
    refusing(inProgress);
    const error = await auditActionsFromEnvironment(() => config).refresh(harbor, { force: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PullkeeperError);
    expect(error).toMatchObject({ code: "rotation_in_progress", message: expect.stringContaining("pullkeeper/harbor") });
    expect(await post("/v1/registries/harbor/refresh")).toMatchObject({ status: 409, body: { code: "rotation_in_progress" } });
    refusing(new InvalidRequestException({ message: "You can't rotate a secret that is scheduled for deletion.", $metadata: {} }));
    expect(await post("/v1/registries/harbor/refresh")).toMatchObject({ status: 409, body: { code: "invalid_request", message: expect.stringContaining("scheduled for deletion") } });
    refusing(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
    expect(await post("/v1/registries/harbor/refresh")).toMatchObject({ status: 404, body: { code: "not_found" } });
  });

  it("refuses the embedded runtime's own registry: it is not rotated on AWS", async () => {
    await expect(auditActionsFromEnvironment(() => config).refresh(byId("local"), { force: false })).rejects.toBeInstanceOf(InvalidInputError);
    expect(secrets.commandCalls(RotateSecretCommand)).toEqual([]);
  });
});

describe("rollback on AWS", () => {
  const invoked = () => lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);

  it("invokes the revoke function synchronously with a scheduled event whose detail names the registry, and answers its result", async () => {
    lambda.on(InvokeCommand).resolves(answer(rolledBack));
    expect(await auditActionsFromEnvironment(() => config).rollback?.(harbor)).toEqual(rolledBack);
    expect(invoked().map((i) => [i.FunctionName, i.InvocationType])).toEqual([["pullkeeper-revoke", "RequestResponse"]]);
    expect(payload(0)).toMatchObject({ "detail-type": "Scheduled Event", source: "aws.events", detail: { rollback: "harbor" } });
    expect(await post("/v1/registries/harbor/rollback")).toEqual({ status: 200, body: rolledBack });
  });

  it.each([
    ["previous_revoked", 409],
    ["rollback_unverified", 409],
    ["no_previous_version", 409],
    ["rotation_in_progress", 409],
    ["aws_error", 502],
  ])("raises the revoke function's refusal %s again with its code and message (%i)", async (code, status) => {
    const message = `registry harbor: refused (${code})`;
    lambda.on(InvokeCommand).resolves(answer({ error: { code, message } }));
    const error = await auditActionsFromEnvironment(() => config).rollback?.(harbor).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PullkeeperError);
    expect(error).toMatchObject({ code, message });
    expect(await post("/v1/registries/harbor/rollback")).toEqual({ status, body: { code, message } });
  });

  it("an unknown registry in the revoke function is bad input (400)", async () => {
    lambda.on(InvokeCommand).resolves(answer({ error: { code: "invalid_input", message: "registry harbor: not in the config" } }));
    await expect(auditActionsFromEnvironment(() => config).rollback?.(harbor)).rejects.toBeInstanceOf(InvalidInputError);
    expect(await post("/v1/registries/harbor/rollback")).toMatchObject({ status: 400, body: { code: "invalid_input" } });
  });

  it("an unhandled failure of the revoke function is a 502 naming its type, not its message", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: "Unhandled", Payload: blob(JSON.stringify({ errorType: "TypeError", errorMessage: "internal detail" })) });
    const response = await post("/v1/registries/harbor/rollback");
    expect(response).toMatchObject({ status: 502, body: { code: "rollback_failed", message: expect.stringContaining("TypeError") } });
    expect(JSON.stringify(response.body)).not.toContain("internal detail");
  });

  it("a revoke run holding the function (throttled) is rotation_in_progress, tried once: a rollback is never sent twice", async () => {
    lambda.on(InvokeCommand).rejects(new TooManyRequestsException({ message: "Rate Exceeded.", $metadata: {} }));
    expect(await post("/v1/registries/harbor/rollback")).toMatchObject({ status: 409, body: { code: "rotation_in_progress" } });
    expect(invoked()).toHaveLength(1);
  });

  it("refuses registries the revoke function does not roll back, without invoking it", async () => {
    expect(await post("/v1/registries/prod/rollback")).toMatchObject({ status: 409, body: { code: "rollback_unsupported" } });
    expect(await post("/v1/registries/local/rollback")).toMatchObject({ status: 409, body: { code: "rollback_unsupported", message: expect.stringContaining("embedded runtime") } });
    expect(invoked()).toEqual([]);
  });

  it("is not wired (501) when the stack names no revoke function (no rotation stack)", async () => {
    delete process.env.PULLKEEPER_REVOKE_FUNCTION;
    expect(auditActionsFromEnvironment(() => config).rollback).toBeUndefined();
    expect(await post("/v1/registries/harbor/rollback")).toMatchObject({ status: 501, body: { code: "not_implemented" } });
  });
});
