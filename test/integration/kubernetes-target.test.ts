import { deliveryFailure } from "../support/delivery.js";
import { credential, type DeliveryContext, DeliveryError, type Registry } from "@pullkeeper/core";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { KubernetesSecretTarget } from "../../packages/targets/src/kubernetes/kubernetes-target.js";
import { KUBE_TEST_TOKEN as TOKEN, kubeconfigYaml, useFakeApiServer } from "../support/fake-kubernetes.js";
import { captureOutput } from "../support/output.js";

const PASSWORD = "glpat-K8s-Secret-Value-q7Wz";
const USERNAME = "acme-ci";
const VERSION_ID = "7a1e2f3c-4b5d-4e6f-8a9b-0c1d2e3f4a5b";
const AUTH = Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64");
const registry = { id: "gitlab", host: "registry.gitlab.com", kind: "gitlab", source: { type: "managed-secret" }, secret: "pullkeeper/gitlab", verify: {} } as Registry;

const k8s = useFakeApiServer("pullkeeper-k8s-");
let output: string[];

function context(target: Record<string, unknown> = {}): DeliveryContext {
  return {
    consumer: { id: "cluster-pulls", registryId: "gitlab", target: { kind: "kubernetes-secret", secretName: "gitlab-pull", namespaces: ["team-a", "team-b"], kubeconfig: k8s.kubeconfig, ...target } },
    registry,
    secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/gitlab-AbCdEf",
    versionId: VERSION_ID,
    credential: credential(USERNAME, PASSWORD),
  };
}

function leaks(text: string): void {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(AUTH);
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const e = await deliveryFailure(promise);
  expect(e.cause).toBeUndefined(); // the library's error (with bodies) is never attached
  leaks(`${e.message} ${e.stack ?? ""} ${JSON.stringify(e)}`);
  return e;
}

function decodeSecret(key: string): { auths: Record<string, { username: string; password: string; auth: string }> } {
  const secret = k8s.api.secrets.get(key) as { data: Record<string, string> } | undefined;
  expect(secret).toBeDefined();
  return JSON.parse(Buffer.from(secret?.data[".dockerconfigjson"] ?? "", "base64").toString("utf8"));
}

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  leaks(output.join(""));
});

describe("KubernetesSecretTarget: the Secret", () => {
  it("server-side applies a dockerconfigjson Secret in every namespace, with the right auths and no value in its metadata", async () => {
    const outcome = await new KubernetesSecretTarget().deliver(context());

    expect(k8s.api.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["PATCH /api/v1/namespaces/team-a/secrets/gitlab-pull", "PATCH /api/v1/namespaces/team-b/secrets/gitlab-pull"]);
    for (const request of k8s.api.requests) {
      expect(request.contentType).toBe("application/apply-patch+yaml");
      expect(request.query.get("fieldManager")).toBe("pullkeeper");
      expect(request.query.get("force")).toBe("true");
      expect(request.authorization).toBe(`Bearer ${TOKEN}`);
    }
    for (const ns of ["team-a", "team-b"]) {
      const secret = k8s.api.secrets.get(`${ns}/gitlab-pull`) as { apiVersion: string; kind: string; type: string; metadata: Record<string, unknown> };
      expect(secret).toMatchObject({ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/dockerconfigjson" });
      expect(secret.metadata).toEqual({
        name: "gitlab-pull",
        namespace: ns,
        labels: { "app.kubernetes.io/managed-by": "pullkeeper" },
        annotations: { "pullkeeper.dev/registry": "gitlab", "pullkeeper.dev/version-id": VERSION_ID },
      });
      leaks(JSON.stringify(secret.metadata));
      const doc = decodeSecret(`${ns}/gitlab-pull`);
      expect(Object.keys(doc.auths)).toEqual(["registry.gitlab.com"]);
      expect(doc.auths["registry.gitlab.com"]).toEqual({ username: USERNAME, password: PASSWORD, auth: AUTH });
      expect(Buffer.from(doc.auths["registry.gitlab.com"]?.auth ?? "", "base64").toString()).toBe(`${USERNAME}:${PASSWORD}`);
    }
    expect(outcome.status).toBe("delivered");
    expect(outcome.detail).toContain("namespaces team-a, team-b");
    expect(outcome.detail).toContain(VERSION_ID);
    leaks(outcome.detail);
  });

  // Issue 11: a provider pause stops every write, the rest of a delivery already under way included.
  it("asks the provider gate before every namespace's write and stops at once when it is closed", async () => {
    let gate = 0;
    const closedAfterOne = async () => {
      if (++gate > 1) throw new DeliveryError("paused", "the provider is paused", { retryable: true, retryAfterMs: 1_000 });
    };
    await expect(new KubernetesSecretTarget().deliver({ ...context({ namespaces: ["team-a", "team-b", "team-c"] }), beforeWrite: closedAfterOne })).rejects.toMatchObject({ code: "paused" });
    expect(k8s.api.requests.map((r) => r.path)).toEqual(["/api/v1/namespaces/team-a/secrets/gitlab-pull"]);
    expect(gate).toBe(2);
  });

  it("keys Docker Hub as https://index.docker.io/v1/, as kubectl create secret docker-registry does", async () => {
    const ctx = context({ namespaces: ["team-a"] });
    await new KubernetesSecretTarget().deliver({ ...ctx, registry: { ...registry, id: "hub", host: "docker.io", kind: "dockerhub" } as Registry });
    expect(Object.keys(decodeSecret("team-a/gitlab-pull").auths)).toEqual(["https://index.docker.io/v1/"]);
  });

  it("uses the context named in the config, and provider() names that cluster's server", async () => {
    const target = new KubernetesSecretTarget();
    expect(await target.provider(context().consumer)).toBe(`kubernetes:127.0.0.1:${k8s.api.port}`);
    expect(await target.provider(context({ context: "elsewhere" }).consumer)).toBe("kubernetes:127.0.0.1:9");
    expect(await target.provider(context({ kubeconfig: join(k8s.dir, "missing") }).consumer)).toBe("kubernetes");
    const error = await failure(target.deliver(context({ context: "elsewhere" })));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(k8s.api.requests).toHaveLength(0);
  });

  it("rejects bad targets before any request", async () => {
    const target = new KubernetesSecretTarget();
    await expect(target.deliver(context({ namespaces: [] }))).rejects.toMatchObject({ code: "invalid_target", retryable: false });
    await expect(target.deliver(context({ namespaces: ["Team_A"] }))).rejects.toMatchObject({ code: "invalid_target" });
    await expect(target.deliver(context({ secretName: "-bad-" }))).rejects.toMatchObject({ code: "invalid_target" });
    await expect(target.deliver(context({ context: "nope" }))).rejects.toMatchObject({ code: "invalid_target", message: expect.stringContaining("has no context nope") });
    const error = await failure(target.deliver(context({ kubeconfig: join(k8s.dir, "missing") })));
    expect(error).toMatchObject({ code: "invalid_target", retryable: false });
    expect(k8s.api.requests).toHaveLength(0);
  });

  it("does not quote a broken kubeconfig (which holds tokens) in its error", async () => {
    const broken = join(k8s.dir, "broken-kubeconfig");
    await writeFile(broken, `users: [ { token: ${PASSWORD} \n  - : : ]`);
    const error = await failure(new KubernetesSecretTarget().deliver(context({ kubeconfig: broken })));
    expect(error.code).toBe("invalid_target");
  });
});

describe("KubernetesSecretTarget: the ServiceAccount", () => {
  it("adds the Secret to imagePullSecrets once, keeps the others, and does not duplicate it on a second delivery", async () => {
    k8s.api.serviceAccounts.set("team-a/default", { metadata: { name: "default", namespace: "team-a", resourceVersion: "10" }, imagePullSecrets: [{ name: "other-pull" }] });
    k8s.api.serviceAccounts.set("team-b/default", { metadata: { name: "default", namespace: "team-b", resourceVersion: "20" } });
    const target = new KubernetesSecretTarget();
    const first = await target.deliver(context({ serviceAccount: "default" }));

    const saPatches = k8s.api.requests.filter((r) => r.method === "PATCH" && r.path.includes("/serviceaccounts/"));
    expect(saPatches).toHaveLength(2);
    for (const p of saPatches) {
      expect(p.contentType).toBe("application/json-patch+json");
      expect(p.query.get("fieldManager")).toBe("pullkeeper");
    }
    expect(k8s.api.serviceAccounts.get("team-a/default")?.imagePullSecrets).toEqual([{ name: "other-pull" }, { name: "gitlab-pull" }]);
    expect(k8s.api.serviceAccounts.get("team-b/default")?.imagePullSecrets).toEqual([{ name: "gitlab-pull" }]);
    expect(first.detail).toContain("ServiceAccount default: imagePullSecrets now lists gitlab-pull in team-a, team-b");

    k8s.api.requests.length = 0;
    const second = await target.deliver(context({ serviceAccount: "default" }));
    expect(k8s.api.requests.filter((r) => r.path.includes("/serviceaccounts/")).map((r) => r.method)).toEqual(["GET", "GET"]);
    expect(k8s.api.serviceAccounts.get("team-a/default")?.imagePullSecrets).toEqual([{ name: "other-pull" }, { name: "gitlab-pull" }]);
    expect(second.detail).toContain("already listed it in team-a, team-b");
  });

  it("a concurrent change between read and patch is a retryable conflict, not a lost entry", async () => {
    k8s.api.serviceAccounts.set("team-a/builder", { metadata: { name: "builder", namespace: "team-a", resourceVersion: "5" }, imagePullSecrets: [{ name: "other-pull" }] });
    k8s.api.raceOnce = true;
    const error = await failure(new KubernetesSecretTarget().deliver(context({ namespaces: ["team-a"], serviceAccount: "builder" })));
    expect(error).toMatchObject({ code: "conflict", retryable: true });
    expect(k8s.api.serviceAccounts.get("team-a/builder")?.imagePullSecrets).toEqual([{ name: "other-pull" }]);
    await new KubernetesSecretTarget().deliver(context({ namespaces: ["team-a"], serviceAccount: "builder" }));
    expect(k8s.api.serviceAccounts.get("team-a/builder")?.imagePullSecrets).toEqual([{ name: "other-pull" }, { name: "gitlab-pull" }]);
  });

  it("a missing ServiceAccount is not_found", async () => {
    const error = await failure(new KubernetesSecretTarget().deliver(context({ namespaces: ["team-a"], serviceAccount: "ghost" })));
    expect(error).toMatchObject({ code: "not_found", retryable: false });
    expect(error.message).toContain("ServiceAccount ghost does not exist in namespace team-a");
  });
});

describe("KubernetesSecretTarget: failures", () => {
  it("a wrong token: unauthorized, not retryable, after exactly one request", async () => {
    await writeFile(k8s.kubeconfig, kubeconfigYaml(k8s.api.port, "wrong-token"));
    const error = await failure(new KubernetesSecretTarget().deliver(context()));
    expect(error).toMatchObject({ code: "unauthorized", retryable: false });
    expect(error.message).toContain("HTTP 401: the API server rejected pullkeeper's credentials");
    expect(k8s.api.requests).toHaveLength(1);
  });

  it("500 is unavailable and retryable; a body echoing what was sent is never passed on", async () => {
    k8s.api.fail = { status: 500, body: { kind: "Status", reason: "InternalError", message: `etcd failed storing ${PASSWORD} / ${AUTH}` } };
    const error = await failure(new KubernetesSecretTarget().deliver(context()));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(error.message).toBe(`Kubernetes API 127.0.0.1:${k8s.api.port}: applying Secret team-a/gitlab-pull: HTTP 500 InternalError: the API server is unavailable`);
    expect(k8s.api.requests).toHaveLength(1);
  });

  it("403 is forbidden; 409 is a retryable conflict; 429 is throttled with the Retry-After", async () => {
    k8s.api.fail = { status: 403, body: { reason: "Forbidden", message: `secrets is forbidden ${PASSWORD}` } };
    expect(await failure(new KubernetesSecretTarget().deliver(context()))).toMatchObject({ code: "forbidden", retryable: false });
    k8s.api.fail = { status: 409, body: { reason: "Conflict" } };
    expect(await failure(new KubernetesSecretTarget().deliver(context()))).toMatchObject({ code: "conflict", retryable: true });
    k8s.api.fail = { status: 429, body: { reason: "TooManyRequests" }, headers: { "retry-after": "7" } };
    expect(await failure(new KubernetesSecretTarget().deliver(context()))).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 7000 });
  });

  it("a namespace that does not exist is not_found", async () => {
    const error = await failure(new KubernetesSecretTarget().deliver(context({ namespaces: ["team-a", "team-z"] })));
    expect(error).toMatchObject({ code: "not_found", retryable: false });
    expect(error.message).toContain("namespace team-z does not exist");
  });

  it("an API server that is down is unavailable and retryable", async () => {
    await k8s.api.stop(); // stopping it again after the test is harmless
    const port = k8s.api.port;
    await writeFile(k8s.kubeconfig, kubeconfigYaml(port));
    const error = await failure(new KubernetesSecretTarget().deliver(context()));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(error.message).toContain("could not reach the API server (ECONNREFUSED)");
  });

  it("an API server that never answers is a retryable timeout", async () => {
    const hang = createServer(() => undefined);
    await new Promise<void>((resolve) => hang.listen(0, "127.0.0.1", resolve));
    await writeFile(k8s.kubeconfig, kubeconfigYaml((hang.address() as AddressInfo).port));
    try {
      const error = await failure(new KubernetesSecretTarget({ timeoutMs: 200 }).deliver(context()));
      expect(error).toMatchObject({ code: "timeout", retryable: true });
    } finally {
      hang.closeAllConnections();
      await new Promise<void>((resolve) => hang.close(() => resolve()));
    }
  });
});
