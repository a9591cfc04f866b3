import { deliveryFailure } from "../support/delivery.js";
import { type Consumer, credential, type DeliveryContext, DeliveryError, NotFoundError, type Registry } from "@pullkeeper/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GitpodSecretTarget, gitpodRegistryHost } from "../../packages/targets/src/gitpod/gitpod-target.js";
import { gitpodSecretTargetSchema } from "../../packages/targets/src/gitpod/schema.js";
import { GITPOD_TEST_TOKEN as TOKEN } from "../support/fake-gitpod.js";
import { GITPOD_OTHER_PROJECT as OTHER_PROJECT, GITPOD_PROJECT as PROJECT, useFakeGitpod } from "../support/gitpod-server.js";
import { captureOutput } from "../support/output.js";

const USERNAME = "robot$ci";
const PASSWORD = "s3cret-Registry-Pa55w0rd-for-gitpod";
const VALUE = `${USERNAME}:${PASSWORD}`;
const VERSION_ID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/quay-AbCdEf";

const REGISTRY: Registry = { id: "quay", host: "quay.io", kind: "quay", source: { type: "managed-secret" }, secret: SECRET_ARN, verify: {} };

const fake = useFakeGitpod();
let tokens: Map<string, string>;
let output: string[];
const outcomes: string[] = [];

function context(c: Consumer = fake.consumer()): DeliveryContext {
  return { consumer: c, registry: REGISTRY, secretArn: SECRET_ARN, versionId: VERSION_ID, credential: credential(USERNAME, PASSWORD) };
}

function target(timeoutMs = 2_000): GitpodSecretTarget {
  return new GitpodSecretTarget({
    timeoutMs,
    readCredential: async (id) => {
      const token = tokens.get(id);
      if (token === undefined) throw new NotFoundError(`secret ${id}`);
      return credential("gitpod", token);
    },
  });
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const e = await deliveryFailure(promise);
  outcomes.push(e.message, JSON.stringify(e), String(e.stack));
  return e;
}

async function delivered(c: Consumer = fake.consumer()): Promise<string> {
  const outcome = await target().deliver(context(c));
  outcomes.push(outcome.detail, JSON.stringify(outcome));
  expect(outcome.status).toBe("delivered");
  return outcome.detail;
}

const methods = (): string[] => fake.server.received.map((r) => r.url.replace(/^\/api\/gitpod\.v1\.SecretService\//, ""));

beforeEach(() => {
  tokens = new Map([["pullkeeper/gitpod-token", TOKEN]]);
  output = captureOutput({ echo: true });
});

afterEach(() => {
  vi.restoreAllMocks();
  // The value (and the token) never show in anything a person or a log sees.
  for (const text of [...outcomes, output.join("")]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(TOKEN);
  }
  outcomes.length = 0;
});

describe("GitpodSecretTarget: create or update through gitpod.v1.SecretService", () => {
  it("creates a missing secret as container registry basic auth for the registry host", async () => {
    fake.gitpod.seed({ name: "QUAY_AUTH", scope: { projectId: OTHER_PROJECT }, value: "other:project", containerRegistryBasicAuthHost: "https://quay.io" });
    const detail = await delivered();
    expect(methods()).toEqual(["ListSecrets", "CreateSecret"]);
    const list = JSON.parse(fake.server.received[0]?.body ?? "{}") as Record<string, unknown>;
    expect(list).toEqual({ filter: { scope: { projectId: PROJECT } }, pagination: { pageSize: 100 } });
    const create = JSON.parse(fake.server.received[1]?.body ?? "{}") as Record<string, unknown>;
    expect(create).toMatchObject({ name: "QUAY_AUTH", projectId: PROJECT, value: VALUE, containerRegistryBasicAuthHost: "https://quay.io" });
    const created = fake.gitpod.secrets.find((s) => s.scope.projectId === PROJECT);
    expect(created).toMatchObject({ name: "QUAY_AUTH", value: VALUE, containerRegistryBasicAuthHost: "https://quay.io" });
    // The other project's secret of the same name is untouched.
    expect(fake.gitpod.secrets.find((s) => s.scope.projectId === OTHER_PROJECT)?.value).toBe("other:project");
    expect(detail).toContain('created Gitpod secret "QUAY_AUTH" (project');
    expect(detail).toContain(VERSION_ID);
    expect(detail).toContain("running Gitpod environments keep the old value until they restart");
    for (const r of fake.server.received) {
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.headers["connect-protocol-version"]).toBe("1");
      expect(r.method).toBe("POST");
    }
  });

  it("updates an existing secret found on a later page, with UpdateSecretValue's exact shape", async () => {
    for (let i = 0; i < 3; i++) fake.gitpod.seed({ name: `OTHER_${i}`, scope: { projectId: PROJECT }, value: "x:y", environmentVariable: true });
    const existing = fake.gitpod.seed({ name: "QUAY_AUTH", scope: { projectId: PROJECT }, value: "old-user:old-password", containerRegistryBasicAuthHost: "https://quay.io" });
    const detail = await delivered();
    expect(methods()).toEqual(["ListSecrets", "ListSecrets", "UpdateSecretValue"]);
    expect(JSON.parse(fake.server.received[1]?.body ?? "{}")).toEqual({ filter: { scope: { projectId: PROJECT } }, pagination: { token: "2", pageSize: 100 } });
    expect(JSON.parse(fake.server.received[2]?.body ?? "{}")).toEqual({ secretId: existing.id, value: VALUE });
    expect(existing.value).toBe(VALUE);
    expect(fake.gitpod.secrets).toHaveLength(4);
    expect(detail).toContain(`updated Gitpod secret "QUAY_AUTH"`);
    expect(detail).toContain(existing.id);
    expect(detail).toContain("until they restart");
  });

  it("is idempotent: a second delivery updates the secret it created", async () => {
    await delivered();
    await delivered();
    expect(methods()).toEqual(["ListSecrets", "CreateSecret", "ListSecrets", "UpdateSecretValue"]);
    expect(fake.gitpod.secrets.filter((s) => s.name === "QUAY_AUTH")).toHaveLength(1);
  });

  it("lists and creates in an organization or user scope", async () => {
    await delivered(fake.consumer({ scope: { organizationId: "org-1" } }));
    await delivered(fake.consumer({ scope: { userId: "123e4567-e89b-12d3-a456-426614174000" } }));
    expect(JSON.parse(fake.server.received[0]?.body ?? "{}")).toMatchObject({ filter: { scope: { organizationId: "org-1" } } });
    expect(JSON.parse(fake.server.received[1]?.body ?? "{}")).toMatchObject({ scope: { organizationId: "org-1" } });
    expect(JSON.parse(fake.server.received[1]?.body ?? "{}")).not.toHaveProperty("projectId");
    expect(fake.gitpod.secrets.map((s) => s.scope)).toEqual([{ organizationId: "org-1" }, { userId: "123e4567-e89b-12d3-a456-426614174000" }]);
  });

  it("uses docker's host spelling for Docker Hub, and an explicit registryHost when given", async () => {
    expect(gitpodRegistryHost({ host: "registry-1.docker.io", kind: "generic" })).toBe("https://index.docker.io/v1/");
    expect(gitpodRegistryHost({ host: "registry.example.com:5000", kind: "generic" })).toBe("https://registry.example.com:5000");
    await delivered(fake.consumer({ registryHost: "quay.io" }));
    expect(fake.gitpod.secrets[0]?.containerRegistryBasicAuthHost).toBe("quay.io");
  });

  it("updates the existing one when another writer created it between list and create", async () => {
    const racing = fake.gitpod.seed({ name: "QUAY_AUTH", scope: { projectId: PROJECT }, value: "racer:value", containerRegistryBasicAuthHost: "https://quay.io" });
    // The first list does not see it yet.
    fake.gitpod.failures.push({ status: 200, body: { pagination: { nextToken: "" }, secrets: [] } });
    await delivered();
    expect(methods()).toEqual(["ListSecrets", "CreateSecret", "ListSecrets", "UpdateSecretValue"]);
    expect(racing.value).toBe(VALUE);
  });

  it("refuses to overwrite a same-named secret that is an environment variable", async () => {
    fake.gitpod.seed({ name: "QUAY_AUTH", scope: { projectId: PROJECT }, value: "keep:me", environmentVariable: true });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "conflict", retryable: false });
    expect(error.message).toContain("is an environment variable");
    expect(methods()).toEqual(["ListSecrets"]);
    expect(fake.gitpod.secrets[0]?.value).toBe("keep:me");
  });

  it("refuses a same-named registry secret for another host", async () => {
    fake.gitpod.seed({ name: "QUAY_AUTH", scope: { projectId: PROJECT }, value: "keep:me", containerRegistryBasicAuthHost: "https://ghcr.io" });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "conflict", retryable: false });
    expect(error.message).toContain("https://ghcr.io");
  });
});

describe("GitpodSecretTarget: failures, classified", () => {
  it("wrong token: unauthorized, not retryable, exactly one request", async () => {
    tokens.set("pullkeeper/gitpod-token", "gitpod_pat_WRONG");
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "unauthorized", retryable: false });
    expect(error.message).toContain("HTTP 401 unauthenticated");
    expect(fake.server.received).toHaveLength(1);
    expect(fake.gitpod.secrets).toHaveLength(0);
  });

  it("permission denied: forbidden, not retryable", async () => {
    fake.gitpod.failures.push({ status: 403, body: { code: "permission_denied", message: "not a project admin" } });
    await expect(failure(target().deliver(context()))).resolves.toMatchObject({ code: "forbidden", retryable: false });
  });

  it("503: unavailable, retryable", async () => {
    fake.gitpod.failures.push({ status: 503, body: { code: "unavailable", message: "upstream connect error" } });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(fake.server.received).toHaveLength(1);
  });

  it("429 with Retry-After: throttled, retryable, retryAfterMs from the header", async () => {
    fake.gitpod.failures.push({ status: 429, body: { code: "resource_exhausted", message: "rate limit exceeded" }, headers: { "Retry-After": "7" } });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 7_000 });
  });

  it("429 on the write after a successful list is throttled too", async () => {
    fake.gitpod.failures.push({ status: 200, body: { pagination: { nextToken: "" }, secrets: [] } });
    fake.gitpod.failures.push({ status: 429, body: { code: "resource_exhausted", message: "slow down" }, headers: { "Retry-After": "2" } });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "throttled", retryAfterMs: 2_000 });
    expect(methods()).toEqual(["ListSecrets", "CreateSecret"]);
  });

  it("404 not_found and 400 invalid_argument are not retryable; a server echo of the value is redacted", async () => {
    fake.gitpod.failures.push({ status: 404, body: { code: "not_found", message: "project not found" } });
    await expect(failure(target().deliver(context()))).resolves.toMatchObject({ code: "not_found", retryable: false });
    fake.gitpod.failures.push({ status: 200, body: { pagination: {}, secrets: [] } });
    fake.gitpod.failures.push({ status: 400, body: { code: "invalid_argument", message: `value "${VALUE}" is not allowed for token ${TOKEN}` } });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "invalid_request", retryable: false });
    expect(error.message).toContain("[REDACTED]");
  });

  it("a timeout is unavailable, retryable", async () => {
    fake.gitpod.failures.push({ status: 0, body: null, hang: true });
    const error = await failure(target(300).deliver(context()));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(error.message).toContain("timed out after 300 ms");
  });

  it("a refused connection is unavailable, retryable", async () => {
    const url = fake.server.url;
    await fake.server.close(); // closing it again after the test is harmless
    const error = await failure(target().deliver(context(fake.consumer({ apiUrl: `${url}/api` }))));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
  });

  it("an unreadable token secret is not_found and sends nothing", async () => {
    tokens.clear();
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "not_found", retryable: false });
    expect(error.message).toContain("pullkeeper/gitpod-token");
    expect(fake.server.received).toHaveLength(0);
  });
});

describe("GitpodSecretTarget: config", () => {
  it("parses the documented shape with the default API URL", () => {
    const parsed = gitpodSecretTargetSchema.parse({ kind: "gitpod-secret", name: "DOCKER_AUTH", scope: { projectId: PROJECT }, tokenSecret: "t" });
    expect(parsed.apiUrl).toBe("https://app.gitpod.io/api");
    expect(target().provider(fake.consumer())).toBe("gitpod");
    expect(target().kind).toBe("gitpod-secret");
  });

  it("rejects two scope ids, plain http off loopback and unknown fields", () => {
    const base = { kind: "gitpod-secret", name: "X", tokenSecret: "t" };
    expect(gitpodSecretTargetSchema.safeParse({ ...base, scope: { projectId: "p", userId: "u" } }).success).toBe(false);
    expect(gitpodSecretTargetSchema.safeParse({ ...base, scope: {} }).success).toBe(false);
    expect(gitpodSecretTargetSchema.safeParse({ ...base, scope: { projectId: "p" }, apiUrl: "http://gitpod.example.com/api" }).success).toBe(false);
    expect(gitpodSecretTargetSchema.safeParse({ ...base, scope: { projectId: "p" }, token: "inline" }).success).toBe(false);
  });

  it("reports an invalid target as invalid_target before any request", async () => {
    const error = await failure(target().deliver(context(fake.consumer({ scope: { teamId: "t" } }))));
    expect(error).toMatchObject({ code: "invalid_target", retryable: false });
    expect(fake.server.received).toHaveLength(0);
  });
});
