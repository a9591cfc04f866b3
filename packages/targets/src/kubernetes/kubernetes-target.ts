import type { CoreV1Api } from "@kubernetes/client-node";
import {
  type Consumer,
  type Credential,
  type DeliveryContext,
  DeliveryError,
  type DeliveryOutcome,
  type DeliveryTarget,
  type DiscoveredEnvironment,
  type EnvironmentDiscovery,
  formatIssues,
  type Registry,
  type RestartOutcome,
  type TargetFactory,
} from "@pullkeeper/core";
import { homedir } from "node:os";
import { type ApiCall, callApi, type ClientNode, type LoadedCluster, loadCluster } from "./cluster.js";
import { discoverPods, type PodApi, restartPod } from "./environments.js";
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
  /** Pods per list page when discovering environments (`limit`); default 500. */
  readonly podPageSize?: number;
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
export class KubernetesSecretTarget implements DeliveryTarget, EnvironmentDiscovery {
  readonly kind = "kubernetes-secret";
  readonly schema = kubernetesSecretTargetSchema;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #home: string;
  readonly #timeoutMs: number;
  readonly #podPageSize: number;

  constructor(options: KubernetesSecretTargetOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#home = options.home ?? homedir();
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#podPageSize = options.podPageSize ?? 500;
  }

  /** `kubernetes:<API server host[:port]>`, or `kubernetes` when the kubeconfig cannot be read. */
  async provider(consumer: Consumer): Promise<string> {
    const parsed = this.schema.safeParse(consumer.target);
    if (!parsed.success) return "kubernetes";
    try {
      return `kubernetes:${(await this.#load(parsed.data)).server.host}`;
    } catch {
      return "kubernetes";
    }
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target = parseTarget(this.schema, context.consumer);
    const { lib, kc, server, source } = await this.#load(target);
    const core = kc.makeApiClient(lib.CoreV1Api);
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
      // The provider gate before each namespace's write: a pause stops the rest of this delivery too.
      await context.beforeWrite?.();
      await this.#call(
        { what: `${api}: applying Secret ${namespace}/${target.secretName}`, notFound: `namespace ${namespace} does not exist (pullkeeper never creates namespaces)` },
        () =>
          core.patchNamespacedSecret(
            { name: target.secretName, namespace, body, fieldManager: FIELD_MANAGER, force: true },
            lib.setHeaderOptions("Content-Type", lib.PatchStrategy.ServerSideApply),
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
        await context.beforeWrite?.();
        const changed = await this.#ensurePullSecret(lib, core, api, namespace, target.serviceAccount, target.secretName);
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

  /** Running and Pending pods in the consumer's namespaces that pull with its Secret, directly or through their ServiceAccount. */
  async discoverEnvironments(consumer: Consumer): Promise<readonly DiscoveredEnvironment[]> {
    const target = parseTarget(this.schema, consumer);
    return discoverPods(await this.#pods(target), target);
  }

  /** Deletes a controller-owned pod so it comes back with the current Secret; a bare pod is refused (`restart_unsupported`). */
  async restartEnvironment(consumer: Consumer, environment: Pick<DiscoveredEnvironment, "externalId" | "kind" | "name">): Promise<RestartOutcome> {
    if (environment.kind !== "kubernetes-pod") {
      throw new DeliveryError("invalid_request", `consumer ${consumer.id}: ${environment.kind} ${environment.name} is not a Kubernetes pod; nothing was deleted`, { retryable: false });
    }
    const target = parseTarget(this.schema, consumer);
    return restartPod(await this.#pods(target), target, environment.externalId);
  }

  async #pods(target: KubernetesSecretTargetConfig): Promise<PodApi> {
    const { lib, kc, server } = await this.#load(target);
    return { core: kc.makeApiClient(lib.CoreV1Api), api: `Kubernetes API ${server.host}`, call: (call, run) => this.#call(call, run), pageSize: this.#podPageSize };
  }

  /**
   * Adds `{name: secretName}` to the ServiceAccount's imagePullSecrets if missing; true if it did.
   * ServiceAccount.imagePullSecrets has no strategic-merge key (a strategic merge patch would
   * replace the whole list), so this is a JSON patch appending one entry, guarded by the
   * resourceVersion just read (a patch that sets resourceVersion is an optimistic-concurrency
   * precondition): if someone changed the ServiceAccount in between, the API server
   * answers 409 and the retry reads it again — never a duplicate, never a lost entry.
   */
  async #ensurePullSecret(lib: ClientNode, core: CoreV1Api, api: string, namespace: string, name: string, secretName: string): Promise<boolean> {
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
      core.patchNamespacedServiceAccount({ name, namespace, body: patch, fieldManager: FIELD_MANAGER }, lib.setHeaderOptions("Content-Type", lib.PatchStrategy.JsonPatch)),
    );
    return true;
  }

  async #call<T>(call: ApiCall, run: () => Promise<T>): Promise<T> {
    return callApi(call, this.#timeoutMs, run);
  }

  #load(target: KubernetesSecretTargetConfig): Promise<LoadedCluster> {
    return loadCluster(target, this.#env, this.#home);
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

export { retryAfterMs } from "./cluster.js";

/** What the module loads (module.ts). */
const createTarget: TargetFactory = () => new KubernetesSecretTarget();
export default createTarget;
