import { type Consumer, DeliveryError } from "@pullkeeper/core";
import { writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { KubernetesSecretTarget } from "../../packages/targets/src/kubernetes/kubernetes-target.js";
import { deliveryFailure } from "../support/delivery.js";
import { fakePod, KUBE_TEST_TOKEN as TOKEN, kubeconfigYaml, useFakeApiServer } from "../support/fake-kubernetes.js";
import { captureOutput } from "../support/output.js";

const k8s = useFakeApiServer("pullkeeper-k8s-env-");
let output: string[];
const texts: string[] = [];

function consumer(target: Record<string, unknown> = {}): Consumer {
  return { id: "cluster-pulls", registryId: "gitlab", target: { kind: "kubernetes-secret", secretName: "gitlab-pull", namespaces: ["team-a", "team-b"], kubeconfig: k8s.kubeconfig, ...target } };
}

function target(podPageSize?: number): KubernetesSecretTarget {
  return new KubernetesSecretTarget(podPageSize === undefined ? {} : { podPageSize });
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const e = await deliveryFailure(promise);
  expect(e.cause).toBeUndefined();
  texts.push(e.message, String(e.stack), JSON.stringify(e));
  return e;
}

const calls = () => k8s.api.requests.map((r) => `${r.method} ${r.path}`);
const env = (externalId: string) => ({ externalId, kind: "kubernetes-pod" as const, name: externalId.split("/")[1] ?? externalId });

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const text of [...texts, ...output]) expect(text).not.toContain(TOKEN);
  texts.length = 0;
  expect(k8s.api.violations).toEqual([]);
});

describe("kubernetes-secret: discoverEnvironments", () => {
  it("finds Running and Pending pods that pull with the Secret, directly or through their ServiceAccount, in every namespace", async () => {
    k8s.api.serviceAccounts.set("team-a/builder", { metadata: { name: "builder", namespace: "team-a", resourceVersion: "1" }, imagePullSecrets: [{ name: "gitlab-pull" }] });
    k8s.api.serviceAccounts.set("team-b/default", { metadata: { name: "default", namespace: "team-b", resourceVersion: "1" }, imagePullSecrets: [{ name: "other" }, { name: "gitlab-pull" }] });
    k8s.api.addPod(fakePod("web-1", { imagePullSecrets: ["gitlab-pull"], startTime: "2026-03-01T08:00:00Z" }));
    k8s.api.addPod(fakePod("build-1", { serviceAccountName: "builder", phase: "Pending", startTime: "2026-03-02T09:00:00Z" }));
    k8s.api.addPod(fakePod("unrelated-1", { imagePullSecrets: ["other"] }));
    k8s.api.addPod(fakePod("done-1", { imagePullSecrets: ["gitlab-pull"], phase: "Succeeded" }));
    k8s.api.addPod(fakePod("crashed-1", { imagePullSecrets: ["gitlab-pull"], phase: "Failed" }));
    k8s.api.addPod(fakePod("lost-1", { imagePullSecrets: ["gitlab-pull"], phase: "Unknown" }));
    k8s.api.addPod(fakePod("api-1", { namespace: "team-b", startTime: "2026-03-03T10:00:00Z" }));
    k8s.api.addPod(fakePod("far-1", { namespace: "team-c", imagePullSecrets: ["gitlab-pull"] }));

    const found = await target().discoverEnvironments(consumer());
    expect(found).toEqual([
      { externalId: "team-a/web-1", kind: "kubernetes-pod", name: "web-1", startedAt: new Date("2026-03-01T08:00:00Z"), status: "Running", detail: "via imagePullSecrets" },
      {
        externalId: "team-a/build-1",
        kind: "kubernetes-pod",
        name: "build-1",
        startedAt: new Date("2026-03-02T09:00:00Z"),
        status: "Pending",
        detail: "via serviceAccount builder (not in the pod's own imagePullSecrets: it uses the Secret only once recreated)",
      },
      {
        externalId: "team-b/api-1",
        kind: "kubernetes-pod",
        name: "api-1",
        startedAt: new Date("2026-03-03T10:00:00Z"),
        status: "Running",
        detail: expect.stringContaining("via serviceAccount default") as unknown as string,
      },
    ]);
    for (const r of k8s.api.requests) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    expect(calls().filter((c) => c.includes("/pods"))).toEqual(["GET /api/v1/namespaces/team-a/pods", "GET /api/v1/namespaces/team-b/pods"]);
  });

  it("pages with limit and continue until the list ends", async () => {
    for (let i = 1; i <= 5; i++) k8s.api.addPod(fakePod(`web-${i}`, { imagePullSecrets: ["gitlab-pull"] }));
    const found = await target(2).discoverEnvironments(consumer({ namespaces: ["team-a"] }));
    expect(found.map((e) => e.externalId)).toEqual(["team-a/web-1", "team-a/web-2", "team-a/web-3", "team-a/web-4", "team-a/web-5"]);
    const lists = k8s.api.requests.filter((r) => r.path === "/api/v1/namespaces/team-a/pods");
    expect(lists.map((r) => r.query.get("limit"))).toEqual(["2", "2", "2"]);
    expect(lists[0]?.query.has("continue")).toBe(false);
    expect(lists.slice(1).map((r) => Buffer.from(r.query.get("continue") ?? "", "base64").toString())).toEqual(["offset:2", "offset:4"]);
  });

  it("reads each ServiceAccount once per namespace, and none for pods that list the Secret themselves", async () => {
    k8s.api.serviceAccounts.set("team-a/builder", { metadata: { name: "builder", namespace: "team-a", resourceVersion: "1" }, imagePullSecrets: [{ name: "gitlab-pull" }] });
    for (let i = 1; i <= 4; i++) k8s.api.addPod(fakePod(`build-${i}`, { serviceAccountName: "builder" }));
    for (let i = 1; i <= 3; i++) k8s.api.addPod(fakePod(`web-${i}`, { imagePullSecrets: ["gitlab-pull"] }));
    const found = await target(3).discoverEnvironments(consumer({ namespaces: ["team-a"] }));
    expect(found).toHaveLength(7);
    expect(calls().filter((c) => c.includes("serviceaccounts"))).toEqual(["GET /api/v1/namespaces/team-a/serviceaccounts/builder"]);
  });

  it("a pod whose ServiceAccount is gone does not use the Secret, and is no error", async () => {
    k8s.api.addPod(fakePod("orphan-1", { serviceAccountName: "deleted-account" }));
    expect(await target().discoverEnvironments(consumer({ namespaces: ["team-a"] }))).toEqual([]);
  });

  it("a Pending pod without startTime is dated by its creation, and says so", async () => {
    k8s.api.addPod(fakePod("queued-1", { imagePullSecrets: ["gitlab-pull"], phase: "Pending", startTime: null, creationTimestamp: "2026-03-04T00:00:00Z" }));
    const [found] = await target().discoverEnvironments(consumer({ namespaces: ["team-a"] }));
    expect(found?.startedAt).toEqual(new Date("2026-03-04T00:00:00Z"));
    expect(found?.detail).toBe("via imagePullSecrets; not started yet: dated by its creation");
  });
});

describe("kubernetes-secret: restartEnvironment", () => {
  it("deletes a controller-owned pod, with its uid as precondition, and nothing else", async () => {
    const pod = k8s.api.addPod(fakePod("web-7d4b9-x2x", { imagePullSecrets: ["gitlab-pull"], owner: "ReplicaSet" }));
    const outcome = await target().restartEnvironment(consumer(), env("team-a/web-7d4b9-x2x"));
    expect(outcome).toEqual({ detail: "deleted pod team-a/web-7d4b9-x2x; its ReplicaSet web-7d4b9-owner starts a new one, which pulls with the current secret" });
    expect(calls()).toEqual(["GET /api/v1/namespaces/team-a/pods/web-7d4b9-x2x", "DELETE /api/v1/namespaces/team-a/pods/web-7d4b9-x2x"]);
    expect(k8s.api.requests[1]?.body).toMatchObject({ preconditions: { uid: pod.metadata.uid } });
    expect(k8s.api.pods.has("team-a/web-7d4b9-x2x")).toBe(false);
  });

  it("restarts a pod that uses the Secret through its ServiceAccount (a StatefulSet's)", async () => {
    k8s.api.serviceAccounts.set("team-b/db", { metadata: { name: "db", namespace: "team-b", resourceVersion: "1" }, imagePullSecrets: [{ name: "gitlab-pull" }] });
    k8s.api.addPod(fakePod("db-0", { namespace: "team-b", serviceAccountName: "db", owner: "StatefulSet" }));
    const outcome = await target().restartEnvironment(consumer(), env("team-b/db-0"));
    expect(outcome.detail).toContain("its StatefulSet");
    expect(calls()).toEqual(["GET /api/v1/namespaces/team-b/pods/db-0", "GET /api/v1/namespaces/team-b/serviceaccounts/db", "DELETE /api/v1/namespaces/team-b/pods/db-0"]);
  });

  it("refuses a bare pod: restart_unsupported, not retryable, nothing deleted", async () => {
    k8s.api.addPod(fakePod("debug-shell", { imagePullSecrets: ["gitlab-pull"], owner: null }));
    const e = await failure(target().restartEnvironment(consumer(), env("team-a/debug-shell")));
    expect(e).toMatchObject({ code: "restart_unsupported", retryable: false });
    expect(e.message).toContain("would not come back");
    expect(calls()).toEqual(["GET /api/v1/namespaces/team-a/pods/debug-shell"]);
    expect(k8s.api.pods.has("team-a/debug-shell")).toBe(true);
  });

  it("an owner that is not its controller does not count: restart_unsupported", async () => {
    const pod = k8s.api.addPod(fakePod("adopted-1", { imagePullSecrets: ["gitlab-pull"], owner: "ConfigMap" }));
    for (const owner of pod.metadata.ownerReferences ?? []) owner.controller = false;
    const e = await failure(target().restartEnvironment(consumer(), env("team-a/adopted-1")));
    expect(e).toMatchObject({ code: "restart_unsupported", retryable: false });
    expect(calls().filter((c) => c.startsWith("DELETE"))).toEqual([]);
  });

  it("refuses what is not a pod, a pod outside the consumer's namespaces, and a pod that does not use the Secret", async () => {
    const kind = await failure(target().restartEnvironment(consumer(), { externalId: "cs-1", kind: "codespace", name: "cs-1" }));
    expect(kind).toMatchObject({ code: "invalid_request", retryable: false });
    k8s.api.addPod(fakePod("web-1", { namespace: "kube-system", imagePullSecrets: ["gitlab-pull"] }));
    const outside = await failure(target().restartEnvironment(consumer(), env("kube-system/web-1")));
    expect(outside).toMatchObject({ code: "not_found", retryable: false });
    const malformed = await failure(target().restartEnvironment(consumer(), env("no-namespace")));
    expect(malformed.code).toBe("not_found");
    expect(k8s.api.requests).toEqual([]);

    k8s.api.addPod(fakePod("other-1", { imagePullSecrets: ["other"] }));
    const unrelated = await failure(target().restartEnvironment(consumer(), env("team-a/other-1")));
    expect(unrelated).toMatchObject({ code: "not_found", retryable: false });
    expect(calls().filter((c) => c.startsWith("DELETE"))).toEqual([]);
  });

  it("a pod replaced between the read and the delete (409 on the uid precondition) is reported, not retried", async () => {
    k8s.api.addPod(fakePod("web-1", { imagePullSecrets: ["gitlab-pull"] }));
    k8s.api.failOnce.push({ match: (r) => r.method === "DELETE", status: 409, body: { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Conflict", code: 409 } });
    const outcome = await target().restartEnvironment(consumer(), env("team-a/web-1"));
    expect(outcome.detail).toContain("already deleted or replaced");
  });

  it("a pod that is gone is not_found", async () => {
    const e = await failure(target().restartEnvironment(consumer(), env("team-a/gone-1")));
    expect(e).toMatchObject({ code: "not_found", retryable: false });
    expect(calls()).toEqual(["GET /api/v1/namespaces/team-a/pods/gone-1"]);
  });
});

describe("kubernetes-secret: environment failures are classified DeliveryErrors without the token", () => {
  it("401 → unauthorized", async () => {
    await writeFile(k8s.kubeconfig, kubeconfigYaml(k8s.api.port, "a-wrong-bearer-token"), { mode: 0o600 });
    const e = await failure(target().discoverEnvironments(consumer()));
    expect(e).toMatchObject({ code: "unauthorized", retryable: false });
    expect(e.message).not.toContain("a-wrong-bearer-token");
  });

  it("404 on the list → not_found; 403 on a ServiceAccount → forbidden naming the RBAC it needs", async () => {
    k8s.api.failOnce.push({ match: (r) => r.path.endsWith("/pods"), status: 404, body: { kind: "Status", reason: "NotFound", code: 404 } });
    const missing = await failure(target().discoverEnvironments(consumer()));
    expect(missing).toMatchObject({ code: "not_found", retryable: false });
    expect(missing.message).toContain("listing pods in namespace team-a");

    k8s.api.addPod(fakePod("build-1", { serviceAccountName: "builder" }));
    k8s.api.failOnce.push({ match: (r) => r.path.includes("/serviceaccounts/"), status: 403, body: { kind: "Status", reason: "Forbidden", code: 403, message: `user with token ${TOKEN} cannot get serviceaccounts` } });
    const forbidden = await failure(target().discoverEnvironments(consumer()));
    expect(forbidden).toMatchObject({ code: "forbidden", retryable: false });
    expect(forbidden.message).toContain("get on serviceaccounts");
  });

  it("429 on the second page → throttled with Retry-After", async () => {
    for (let i = 1; i <= 3; i++) k8s.api.addPod(fakePod(`web-${i}`, { imagePullSecrets: ["gitlab-pull"] }));
    k8s.api.failOnce.push({ match: (r) => r.query.has("continue"), status: 429, body: { kind: "Status", reason: "TooManyRequests", code: 429 }, headers: { "retry-after": "4" } });
    const e = await failure(target(2).discoverEnvironments(consumer()));
    expect(e).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 4000 });
  });

  it("500 on the delete → unavailable (retryable); the pod is still there", async () => {
    k8s.api.addPod(fakePod("web-1", { imagePullSecrets: ["gitlab-pull"] }));
    k8s.api.failOnce.push({ match: (r) => r.method === "DELETE", status: 500, body: { kind: "Status", reason: "InternalError", code: 500 } });
    const e = await failure(target().restartEnvironment(consumer(), env("team-a/web-1")));
    expect(e).toMatchObject({ code: "unavailable", retryable: true });
    expect(k8s.api.pods.has("team-a/web-1")).toBe(true);
  });
});
