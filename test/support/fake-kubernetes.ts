import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

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

/** A tiny API server: Secrets by server-side apply, ServiceAccounts by GET and JSON patch. */
export class FakeApiServer {
  readonly requests: RecordedKubeRequest[] = [];
  readonly secrets = new Map<string, Record<string, unknown>>();
  readonly serviceAccounts = new Map<string, FakeServiceAccount>();
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
    this.requests.push({ method: req.method ?? "", path: url.pathname, query: url.searchParams, contentType: req.headers["content-type"], authorization: req.headers.authorization, body });
    if (this.fail !== undefined) return { status: this.fail.status, body: this.fail.body ?? {}, ...(this.fail.headers === undefined ? {} : { headers: this.fail.headers }) };
    if (req.headers.authorization !== `Bearer ${this.token}`) return status(401, "Unauthorized");

    const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (secret !== null && req.method === "PATCH") {
      const [, ns = "", name = ""] = secret;
      if (!this.namespaces.has(ns)) return { status: 404, body: { kind: "Status", apiVersion: "v1", status: "Failure", message: `namespaces "${ns}" not found`, reason: "NotFound", details: { name: ns, kind: "namespaces" }, code: 404 } };
      this.secrets.set(`${ns}/${name}`, body as Record<string, unknown>);
      return { status: 200, body: { ...(body as object), metadata: { ...(body as { metadata: object }).metadata, resourceVersion: "1" } } };
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
