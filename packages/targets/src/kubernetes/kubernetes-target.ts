import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { type Consumer, type Credential, type DeliveryContext, DeliveryError, type DeliveryOutcome, type DeliveryTarget, formatIssues, type Registry } from "@pullkeeper/core";
import { homedir } from "node:os";
import { join } from "node:path";
import { type KubernetesSecretTargetConfig, kubernetesSecretTargetSchema } from "./schema.js";

/** The field manager of every write, so `kubectl get -o yaml --show-managed-fields` names pullkeeper. */
export const FIELD_MANAGER = "pullkeeper";
export const SECRET_TYPE = "kubernetes.io/dockerconfigjson";
export const ANNOTATION_REGISTRY = "pullkeeper.dev/registry";
export const ANNOTATION_VERSION_ID = "pullkeeper.dev/version-id";

const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

export interface KubernetesSecretTargetOptions {
  /** Environment read for in-cluster detection (KUBERNETES_SERVICE_HOST); default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Home directory for `~` and the default ~/.kube/config; default os.homedir(). */
  readonly home?: string;
  /** Each API call gives up after this long (a `timeout`, retryable); default 30 s. */
  readonly timeoutMs?: number;
}

/** What one API call is about, for messages: never a value, never the library's own error text. */
interface Call {
  readonly what: string;
  /** 404 on this call means: */
  readonly notFound: string;
}

/**
 * `kubernetes-secret`: a Secret of type kubernetes.io/dockerconfigjson named `secretName` in every
 * listed namespace, written by server-side apply (field manager `pullkeeper`, force: pullkeeper
 * owns `.dockerconfigjson`, labels and annotations it sets; fields other managers own are left
 * alone). With `serviceAccount`, the Secret is added to that ServiceAccount's imagePullSecrets in
 * each namespace when missing.
 *
 * The client library's errors carry the response body and headers (and, for some failures, what
 * was sent), so they are never passed on, not even as `cause`: every message is built here from
 * the HTTP status and the Status `reason`.
 */
export class KubernetesSecretTarget implements DeliveryTarget {
  readonly kind = "kubernetes-secret";
  readonly schema = kubernetesSecretTargetSchema;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #home: string;
  readonly #timeoutMs: number;

  constructor(options: KubernetesSecretTargetOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#home = options.home ?? homedir();
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** `kubernetes:<API server host[:port]>`, or `kubernetes` when the kubeconfig cannot be read. */
  provider(consumer: Consumer): string {
    const parsed = this.schema.safeParse(consumer.target);
    if (!parsed.success) return "kubernetes";
    try {
      return `kubernetes:${this.#load(parsed.data).server.host}`;
    } catch {
      return "kubernetes";
    }
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target = parseTarget(this.schema, context.consumer);
    const { kc, server, source } = this.#load(target);
    const core = kc.makeApiClient(CoreV1Api);
    const api = `Kubernetes API ${server.host}`;
    const data = { ".dockerconfigjson": dockerConfigJson(context.registry, context.credential) };

    for (const namespace of target.namespaces) {
      const body = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: target.secretName,
          namespace,
          labels: { "app.kubernetes.io/managed-by": FIELD_MANAGER },
          annotations: { [ANNOTATION_REGISTRY]: context.registry.id, [ANNOTATION_VERSION_ID]: context.versionId },
        },
        type: SECRET_TYPE,
        data,
      };
      await this.#call(
        { what: `${api}: applying Secret ${namespace}/${target.secretName}`, notFound: `namespace ${namespace} does not exist (pullkeeper never creates namespaces)` },
        () =>
          core.patchNamespacedSecret(
            { name: target.secretName, namespace, body, fieldManager: FIELD_MANAGER, force: true },
            setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
          ),
      );
    }

    const detail = [
      `Secret ${target.secretName} (${SECRET_TYPE}, auths entry ${dockerConfigKey(context.registry)}) applied with field manager ${FIELD_MANAGER} ` +
        `in namespace${target.namespaces.length === 1 ? "" : "s"} ${target.namespaces.join(", ")} (${api}, ${source}); version ${context.versionId}`,
    ];
    if (target.serviceAccount !== undefined) {
      const added: string[] = [];
      const present: string[] = [];
      for (const namespace of target.namespaces) {
        const changed = await this.#ensurePullSecret(core, api, namespace, target.serviceAccount, target.secretName);
        (changed ? added : present).push(namespace);
      }
      detail.push(
        `ServiceAccount ${target.serviceAccount}: imagePullSecrets ` +
          [added.length > 0 ? `now lists ${target.secretName} in ${added.join(", ")}` : "", present.length > 0 ? `already listed it in ${present.join(", ")}` : ""]
            .filter((s) => s !== "")
            .join("; "),
      );
    }
    detail.push("pods started from now on pull with the new login; running pods are unaffected");
    return { status: "delivered", detail: detail.join("; ") };
  }

  /**
   * Adds `{name: secretName}` to the ServiceAccount's imagePullSecrets if missing; true if it did.
   * ServiceAccount.imagePullSecrets has no strategic-merge key (a strategic merge patch would
   * replace the whole list), so this is a JSON patch appending one entry, guarded by the
   * resourceVersion just read (a patch that sets resourceVersion is an optimistic-concurrency
   * precondition): if someone changed the ServiceAccount in between, the API server
   * answers 409 and the retry reads it again — never a duplicate, never a lost entry.
   */
  async #ensurePullSecret(core: CoreV1Api, api: string, namespace: string, name: string, secretName: string): Promise<boolean> {
    const what = `${api}: ServiceAccount ${namespace}/${name}`;
    const notFound = `ServiceAccount ${name} does not exist in namespace ${namespace}`;
    const account = await this.#call({ what: `${what}: reading`, notFound }, () => core.readNamespacedServiceAccount({ name, namespace }));
    const current = account.imagePullSecrets ?? [];
    if (current.some((ref) => ref.name === secretName)) return false;
    const resourceVersion = account.metadata?.resourceVersion;
    const patch = [
      ...(resourceVersion === undefined ? [] : [{ op: "replace", path: "/metadata/resourceVersion", value: resourceVersion }]),
      account.imagePullSecrets === undefined
        ? { op: "add", path: "/imagePullSecrets", value: [{ name: secretName }] }
        : { op: "add", path: "/imagePullSecrets/-", value: { name: secretName } },
    ];
    await this.#call({ what: `${what}: adding ${secretName} to imagePullSecrets`, notFound }, () =>
      core.patchNamespacedServiceAccount({ name, namespace, body: patch, fieldManager: FIELD_MANAGER }, setHeaderOptions("Content-Type", PatchStrategy.JsonPatch)),
    );
    return true;
  }

  async #call<T>(call: Call, run: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeliveryError("timeout", `${call.what}: no answer within ${this.#timeoutMs} ms`, { retryable: true })), this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([run(), timeout]);
    } catch (error) {
      throw kubernetesDeliveryError(error, call);
    } finally {
      clearTimeout(timer);
    }
  }

  #load(target: KubernetesSecretTargetConfig): { kc: KubeConfig; server: URL; source: string } {
    const kc = new KubeConfig();
    let source: string;
    try {
      if (target.kubeconfig !== undefined) {
        source = `kubeconfig ${expandHome(target.kubeconfig, this.#home)}`;
        kc.loadFromFile(expandHome(target.kubeconfig, this.#home));
      } else if (this.#env.KUBERNETES_SERVICE_HOST) {
        source = "in-cluster service account";
        kc.loadFromCluster();
      } else {
        source = `kubeconfig ${join(this.#home, ".kube", "config")}`;
        kc.loadFromFile(join(this.#home, ".kube", "config"));
      }
    } catch (error) {
      // A YAML error quotes the file, which holds tokens: only the errno code is kept.
      const code = (error as { code?: unknown }).code;
      const where = target.kubeconfig === undefined ? "the default kubeconfig" : `kubeconfig ${target.kubeconfig}`;
      throw new DeliveryError("invalid_target", `could not load ${where}${typeof code === "string" ? ` (${code})` : " (not a valid kubeconfig)"}`, { retryable: false });
    }
    if (target.context !== undefined) {
      if (kc.getContextObject(target.context) === null) {
        throw new DeliveryError("invalid_target", `${source} has no context ${target.context}`, { retryable: false });
      }
      kc.setCurrentContext(target.context);
      source += `, context ${target.context}`;
    }
    const cluster = kc.getCurrentCluster();
    let server: URL | undefined;
    try {
      server = cluster === null ? undefined : new URL(cluster.server);
    } catch {
      server = undefined;
    }
    if (server === undefined) throw new DeliveryError("invalid_target", `${source} names no usable cluster server`, { retryable: false });
    return { kc, server, source };
  }
}

/** The key of the registry in a docker config's `auths`: Docker Hub is keyed as docker itself does. */
export function dockerConfigKey(registry: Registry): string {
  if (registry.kind === "dockerhub" || DOCKER_HUB_HOSTS.has(registry.host.toLowerCase())) return "https://index.docker.io/v1/";
  return registry.host;
}

/** base64 of `{"auths":{"<host>":{"username","password","auth"}}}`, the Secret's `.dockerconfigjson`. */
function dockerConfigJson(registry: Registry, credential: Credential): string {
  const password = credential.password.reveal();
  const auth = Buffer.from(`${credential.username}:${password}`, "utf8").toString("base64");
  const doc = { auths: { [dockerConfigKey(registry)]: { username: credential.username, password, auth } } };
  return Buffer.from(JSON.stringify(doc), "utf8").toString("base64");
}

function parseTarget(schema: typeof kubernetesSecretTargetSchema, consumer: Consumer): KubernetesSecretTargetConfig {
  const parsed = schema.safeParse(consumer.target);
  if (parsed.success) return parsed.data;
  throw new DeliveryError("invalid_target", `consumer ${consumer.id}: target is not valid: ${formatIssues(parsed.error).join("; ")}`, { retryable: false });
}

function expandHome(path: string, home: string): string {
  return path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path;
}

/** A Status `reason` (CamelCase word) only: never the Status `message`, which may quote what was sent. */
function statusReason(raw: unknown): string | undefined {
  let body = raw;
  if (typeof raw === "string") {
    try {
      body = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const reason = typeof body === "object" && body !== null ? (body as { reason?: unknown }).reason : undefined;
  return typeof reason === "string" && /^[A-Za-z]{1,64}$/.test(reason) ? reason : undefined;
}

/** Retry-After in seconds or as an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * 401 unauthorized · 403 forbidden · 404 not_found · 409 conflict (retryable) · 429 throttled
 * (retryable, Retry-After) · 400/422 invalid_request · 408/5xx, network and unknown: unavailable
 * (retryable). Messages: what was being done + status + reason; nothing from the library's text.
 */
function kubernetesDeliveryError(error: unknown, call: Call): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof ApiException) {
    const status = typeof error.code === "number" ? error.code : 0;
    const reason = statusReason(error.body);
    const text = `${call.what}: HTTP ${status}${reason === undefined ? "" : ` ${reason}`}`;
    const headers = (error.headers ?? {}) as Record<string, string | undefined>;
    switch (true) {
      case status === 401:
        return new DeliveryError("unauthorized", `${text}: the API server rejected pullkeeper's credentials (expired or wrong token?)`, { retryable: false });
      case status === 403:
        return new DeliveryError("forbidden", `${text}: RBAC must allow create and patch on secrets in that namespace (and get and patch on serviceaccounts, with serviceAccount)`, { retryable: false });
      case status === 404:
        return new DeliveryError("not_found", `${text}: ${call.notFound}`, { retryable: false });
      case status === 409:
        return new DeliveryError("conflict", `${text}: changed concurrently; will retry`, { retryable: true });
      case status === 429: {
        const after = retryAfterMs(headers["retry-after"]);
        return new DeliveryError("throttled", `${text}: throttled by the API server`, after === undefined ? { retryable: true } : { retryable: true, retryAfterMs: after });
      }
      case status === 400 || status === 422:
        return new DeliveryError(
          "invalid_request",
          `${text}: the API server refused the object (e.g. a Secret of that name exists with another type, which cannot change; delete it or choose another secretName)`,
          { retryable: false },
        );
      case status === 408 || status >= 500:
        return new DeliveryError("unavailable", `${text}: the API server is unavailable`, { retryable: true });
      default:
        return new DeliveryError("invalid_request", text, { retryable: false });
    }
  }
  if (error instanceof Error && error.message.startsWith("HTTP protocol is not allowed")) {
    return new DeliveryError("invalid_target", `${call.what}: the cluster server is plain http://, which the client refuses unless insecure-skip-tls-verify is set`, { retryable: false });
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const errno = typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : "";
  return new DeliveryError("unavailable", `${call.what}: could not reach the API server${errno}`, { retryable: true });
}
