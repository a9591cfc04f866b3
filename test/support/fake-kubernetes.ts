import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { lateBound } from "./late-bound.js";

/** The bearer token the fake API server accepts unless told another. */
export const KUBE_TEST_TOKEN = "kube-bearer-token-123";

export interface RecordedKubeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

export interface FakeServiceAccount {
  metadata: { name: string; namespace: string; resourceVersion: string };
  imagePullSecrets?: { name: string }[];
}

export interface FakePod {
  apiVersion: "v1";
  kind: "Pod";
  metadata: { name: string; namespace: string; uid: string; creationTimestamp: string; ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[] };
  spec: { serviceAccountName?: string; imagePullSecrets?: { name: string }[]; containers: { name: string; image: string }[] };
  status: { phase: string; startTime?: string };
}

export interface PodOptions {
  readonly namespace?: string;
  readonly phase?: string;
  readonly startTime?: string | null;
  readonly creationTimestamp?: string;
  readonly serviceAccountName?: string;
  readonly imagePullSecrets?: readonly string[];
  /** The controlling owner's kind (ReplicaSet…); null: a bare pod. Default ReplicaSet. */
  readonly owner?: string | null;
}

let podCounter = 0;

/** A pod as the API server returns it. */
export function fakePod(name: string, o: PodOptions = {}): FakePod {
  podCounter += 1;
  const owner = o.owner === undefined ? "ReplicaSet" : o.owner;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "team-a",
      uid: `0000-${podCounter}`,
      creationTimestamp: o.creationTimestamp ?? "2026-03-01T07:59:00Z",
      ...(owner === null ? {} : { ownerReferences: [{ apiVersion: "apps/v1", kind: owner, name: `${name.replace(/-[^-]+$/, "")}-owner`, uid: "owner-uid", controller: true }] }),
    },
    spec: {
      ...(o.serviceAccountName === undefined ? {} : { serviceAccountName: o.serviceAccountName }),
      ...(o.imagePullSecrets === undefined ? {} : { imagePullSecrets: o.imagePullSecrets.map((n) => ({ name: n })) }),
      containers: [{ name: "app", image: "registry.gitlab.com/acme/web:1.2.3" }],
    },
    status: { phase: o.phase ?? "Running", ...(o.startTime === null ? {} : { startTime: o.startTime ?? "2026-03-01T08:00:00Z" }) },
  };
}

/** A tiny API server: Secrets by server-side apply, ServiceAccounts by GET and JSON patch, Pods by list (limit/continue), GET and DELETE. */
export class FakeApiServer {
  readonly requests: RecordedKubeRequest[] = [];
  readonly secrets = new Map<string, Record<string, unknown>>();
  readonly serviceAccounts = new Map<string, FakeServiceAccount>();
  /** Pods by namespace/name, in list order. */
  readonly pods = new Map<string, FakePod>();
  /** Largest list page served whatever `limit` asks; lower it to force pages. */
  maxPageSize = 500;
  /** Departures from what the real API server accepts; a correct client leaves this empty. */
  readonly violations: string[] = [];
  /** Answers the first request a rule matches with its status instead (each rule once). */
  readonly failOnce: { match: (r: RecordedKubeRequest) => boolean; status: number; body?: unknown; headers?: Record<string, string> }[] = [];
  namespaces = new Set(["team-a", "team-b"]);
  /** Answers every request with this status (and body) instead. */
  fail: { status: number; body?: unknown; headers?: Record<string, string> } | undefined;
  /** Changes the ServiceAccount between our read and our patch, once. */
  raceOnce = false;
  #server: Server | undefined;
  port = 0;
  /** The bearer token it accepts. */
  readonly token: string;

  constructor(token: string = KUBE_TEST_TOKEN) {
    this.token = token;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(({ status, body, headers }) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  async #handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://localhost");
    const body: unknown = text === "" ? undefined : JSON.parse(text);
    const record = { method: req.method ?? "", path: url.pathname, query: url.searchParams, contentType: req.headers["content-type"], authorization: req.headers.authorization, body };
    this.requests.push(record);
    const once = this.failOnce.findIndex((f) => f.match(record));
    if (once >= 0) {
      const [f] = this.failOnce.splice(once, 1);
      if (f !== undefined) return { status: f.status, body: f.body ?? {}, ...(f.headers === undefined ? {} : { headers: f.headers }) };
    }
    if (this.fail !== undefined) return { status: this.fail.status, body: this.fail.body ?? {}, ...(this.fail.headers === undefined ? {} : { headers: this.fail.headers }) };
    if (req.headers.authorization !== `Bearer ${this.token}`) return status(401, "Unauthorized");

    const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (secret !== null && req.method === "PATCH") {
      const [, ns = "", name = ""] = secret;
      if (!this.namespaces.has(ns)) return { status: 404, body: { kind: "Status", apiVersion: "v1", status: "Failure", message: `namespaces "${ns}" not found`, reason: "NotFound", details: { name: ns, kind: "namespaces" }, code: 404 } };
      this.secrets.set(`${ns}/${name}`, body as Record<string, unknown>);
      return { status: 200, body: { ...(body as object), metadata: { ...(body as { metadata: object }).metadata, resourceVersion: "1" } } };
    }
    const podList = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (podList !== null && req.method === "GET") return this.#listPods(podList[1] ?? "", url.searchParams);
    const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (pod !== null) {
      const key = `${pod[1]}/${pod[2]}`;
      const current = this.pods.get(key);
      if (current === undefined) return status(404, "NotFound");
      if (req.method === "GET") return { status: 200, body: current };
      if (req.method === "DELETE") {
        const uid = (body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid;
        if (uid !== undefined && uid !== current.metadata.uid) return status(409, "Conflict");
        this.pods.delete(key);
        return { status: 200, body: current };
      }
    }
    const sa = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)$/.exec(url.pathname);
    if (sa !== null) {
      const current = this.serviceAccounts.get(`${sa[1]}/${sa[2]}`);
      if (current === undefined) return status(404, "NotFound");
      if (req.method === "GET") return { status: 200, body: { apiVersion: "v1", kind: "ServiceAccount", ...current } };
      if (req.method === "PATCH") {
        if (this.raceOnce) {
          this.raceOnce = false;
          current.metadata.resourceVersion = String(Number(current.metadata.resourceVersion) + 1);
        }
        for (const op of body as { op: string; path: string; value: unknown }[]) {
          if (op.path === "/metadata/resourceVersion" && op.value !== current.metadata.resourceVersion) return status(409, "Conflict");
          if (op.op === "add" && op.path === "/imagePullSecrets") current.imagePullSecrets = op.value as { name: string }[];
          if (op.op === "add" && op.path === "/imagePullSecrets/-") (current.imagePullSecrets ??= []).push(op.value as { name: string });
        }
        current.metadata.resourceVersion = String(Number(current.metadata.resourceVersion) + 1);
        return { status: 200, body: { apiVersion: "v1", kind: "ServiceAccount", ...current } };
      }
    }
    return status(404, "NotFound");
  }

  /** A PodList page: `limit` items from the offset the `continue` token names (opaque to clients, as the real one is). */
  #listPods(namespace: string, query: URLSearchParams): { status: number; body: unknown } {
    for (const key of query.keys()) {
      if (!["limit", "continue", "labelSelector", "fieldSelector", "resourceVersion", "timeoutSeconds"].includes(key)) this.violations.push(`list pods: unexpected query parameter ${key}`);
    }
    const limitText = query.get("limit");
    if (limitText !== null && !/^[1-9]\d*$/.test(limitText)) this.violations.push(`list pods: limit=${limitText} is not a positive integer`);
    const limit = Math.min(limitText === null ? Number.MAX_SAFE_INTEGER : Number(limitText), this.maxPageSize);
    const token = query.get("continue");
    let start = 0;
    if (token !== null) {
      const decoded = /^offset:(\d+)$/.exec(Buffer.from(token, "base64").toString("utf8"));
      if (decoded === null) return { status: 410, body: { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Expired", code: 410 } };
      start = Number(decoded[1]);
    }
    const items = [...this.pods.values()].filter((p) => p.metadata.namespace === namespace);
    const page = items.slice(start, start + limit);
    const more = start + limit < items.length;
    return {
      status: 200,
      body: {
        kind: "PodList",
        apiVersion: "v1",
        metadata: { resourceVersion: "4711", ...(more ? { continue: Buffer.from(`offset:${start + limit}`).toString("base64"), remainingItemCount: items.length - start - limit } : {}) },
        items: page,
      },
    };
  }

  addPod(pod: FakePod): FakePod {
    this.pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
    return pod;
  }
}

function status(code: number, reason: string): { status: number; body: unknown } {
  return { status: code, body: { kind: "Status", apiVersion: "v1", status: "Failure", reason, code } };
}

/** A kubeconfig whose current context `local` is the fake on `port`; context `elsewhere` points at a closed port. */
export function kubeconfigYaml(port: number, token: string = KUBE_TEST_TOKEN): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: local",
    "  cluster:",
    `    server: http://127.0.0.1:${port}`,
    "    insecure-skip-tls-verify: true",
    "- name: elsewhere",
    "  cluster:",
    "    server: http://127.0.0.1:9",
    "    insecure-skip-tls-verify: true",
    "users:",
    "- name: pullkeeper",
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: local",
    "  context: { cluster: local, user: pullkeeper }",
    "- name: elsewhere",
    "  context: { cluster: elsewhere, user: pullkeeper }",
    "current-context: local",
    "",
  ].join("\n");
}

/** What useFakeApiServer sets up; read its fields inside tests and hooks. */
export interface FakeKubernetes {
  /** A temporary directory for this file's kubeconfigs, removed after all tests. */
  readonly dir: string;
  /** A fresh fake API server per test. */
  readonly api: FakeApiServer;
  /** The path of a kubeconfig (mode 0600) whose current context is this test's `api`. */
  readonly kubeconfig: string;
}

/** Registers hooks: a temporary directory (named with `prefix`) for the file, a started FakeApiServer and its kubeconfig for each test. */
export function useFakeApiServer(prefix: string): FakeKubernetes {
  const k8s = lateBound<FakeKubernetes>("useFakeApiServer");
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    const api = new FakeApiServer();
    await api.start();
    const kubeconfig = join(dir, `kubeconfig-${api.port}`);
    await writeFile(kubeconfig, kubeconfigYaml(api.port), { mode: 0o600 });
    k8s.set({ dir, api, kubeconfig });
  });
  afterEach(async () => {
    await k8s.view.api.stop();
  });
  return k8s.view;
}
