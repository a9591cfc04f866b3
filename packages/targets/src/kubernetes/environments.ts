import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { DeliveryError, type DiscoveredEnvironment, type RestartOutcome } from "@pullkeeper/core";
import type { ApiCall } from "./cluster.js";
import type { KubernetesSecretTargetConfig } from "./schema.js";

/**
 * Pod phases that matter: Running pods pulled their images with the Secret as it was then;
 * Pending ones are pulling (or failing to pull) with it now. Succeeded and Failed pods run
 * nothing, and Unknown says nothing a verdict could use.
 */
export const RUNNING_POD_PHASES: ReadonlySet<string> = new Set(["Running", "Pending"]);

/** How the discovery and restart reach the API server: the target's client, deadline and error classification. */
export interface PodApi {
  readonly core: CoreV1Api;
  /** "Kubernetes API <host>", for messages. */
  readonly api: string;
  readonly call: <T>(call: ApiCall, run: () => Promise<T>) => Promise<T>;
  /** Pods asked for per list page (`limit`). */
  readonly pageSize: number;
}

/** How a pod comes to use the Secret, for `detail`; undefined when it does not. */
type Reference = { readonly via: "imagePullSecrets" } | { readonly via: "serviceAccount"; readonly account: string };

/**
 * Reads whether each ServiceAccount of one namespace lists the Secret in its imagePullSecrets,
 * each at most once. A missing ServiceAccount lists nothing (a pod can outlive its account).
 */
function serviceAccounts(pods: PodApi, namespace: string, secretName: string): (name: string) => Promise<boolean> {
  const seen = new Map<string, Promise<boolean>>();
  return (name) => {
    let listed = seen.get(name);
    if (listed === undefined) {
      listed = pods
        .call(
          {
            what: `${pods.api}: reading ServiceAccount ${namespace}/${name}`,
            notFound: `ServiceAccount ${name} does not exist in namespace ${namespace}`,
            forbidden: "RBAC must allow get on serviceaccounts in that namespace to see which pods use the Secret through their ServiceAccount",
          },
          () => pods.core.readNamespacedServiceAccount({ name, namespace }),
        )
        .then(
          (account) => (account.imagePullSecrets ?? []).some((ref) => ref.name === secretName),
          (error: unknown) => {
            if (error instanceof DeliveryError && error.code === "not_found") return false;
            throw error;
          },
        );
      seen.set(name, listed);
    }
    return listed;
  };
}

/**
 * The kubelet pulls with the pod's own `spec.imagePullSecrets`; the ServiceAccount admission
 * plugin copies the account's list into a pod that sets none when the pod is created. So a
 * pod whose account lists the Secret but whose own list does not started before the account
 * got it (or sets its own list): it is reported, since recreating it is what wires it up.
 */
async function reference(pod: V1Pod, secretName: string, accountLists: (name: string) => Promise<boolean>): Promise<Reference | undefined> {
  if ((pod.spec?.imagePullSecrets ?? []).some((ref) => ref.name === secretName)) return { via: "imagePullSecrets" };
  const account = pod.spec?.serviceAccountName || pod.spec?.serviceAccount || "default";
  return (await accountLists(account)) ? { via: "serviceAccount", account } : undefined;
}

function describe(ref: Reference): string {
  return ref.via === "imagePullSecrets"
    ? "via imagePullSecrets"
    : `via serviceAccount ${ref.account} (not in the pod's own imagePullSecrets: it uses the Secret only once recreated)`;
}

function toEnvironment(namespace: string, name: string, phase: string, pod: V1Pod, ref: Reference): DiscoveredEnvironment {
  const started = validDate(pod.status?.startTime);
  const created = validDate(pod.metadata?.creationTimestamp);
  const detail = [describe(ref)];
  // A pod the kubelet has not taken yet has no startTime: it pulls when it starts, so its creation is the closest honest date.
  if (started === undefined) detail.push(created === undefined ? "no start time reported" : "not started yet: dated by its creation");
  return { externalId: `${namespace}/${name}`, kind: "kubernetes-pod", name, startedAt: started ?? created ?? new Date(0), status: phase, detail: detail.join("; ") };
}

function validDate(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = value instanceof Date ? value : new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** Running and Pending pods in the consumer's namespaces that pull with its Secret (every page of every namespace). */
export async function discoverPods(pods: PodApi, target: KubernetesSecretTargetConfig): Promise<DiscoveredEnvironment[]> {
  const found: DiscoveredEnvironment[] = [];
  for (const namespace of target.namespaces) {
    const accountLists = serviceAccounts(pods, namespace, target.secretName);
    let token: string | undefined;
    do {
      const _continue = token;
      const page = await pods.call(
        {
          what: `${pods.api}: listing pods in namespace ${namespace}`,
          notFound: `namespace ${namespace} does not exist`,
          forbidden: "RBAC must allow list on pods in that namespace",
        },
        () => pods.core.listNamespacedPod(_continue === undefined ? { namespace, limit: pods.pageSize } : { namespace, limit: pods.pageSize, _continue }),
      );
      for (const pod of page.items) {
        const name = pod.metadata?.name;
        const phase = pod.status?.phase;
        if (name === undefined || phase === undefined || !RUNNING_POD_PHASES.has(phase)) continue;
        const ref = await reference(pod, target.secretName, accountLists);
        if (ref !== undefined) found.push(toEnvironment(namespace, name, phase, pod, ref));
      }
      token = page.metadata?._continue || undefined;
    } while (token !== undefined);
  }
  return found;
}

/**
 * Deletes one pod so its controller starts a new one that pulls with the current Secret. Only
 * a pod with a controlling ownerReference (ReplicaSet, StatefulSet, DaemonSet, Job…) is
 * deleted: a bare pod would be gone for good. The pod is read first, refused unless it is in
 * the consumer's namespaces and uses its Secret, and deleted with its uid as a precondition so
 * a successor that took the same name (a StatefulSet's) is never deleted in its place.
 */
export async function restartPod(pods: PodApi, target: KubernetesSecretTargetConfig, externalId: string): Promise<RestartOutcome> {
  const slash = externalId.indexOf("/");
  const namespace = externalId.slice(0, slash);
  const name = externalId.slice(slash + 1);
  if (slash <= 0 || name === "" || !target.namespaces.includes(namespace)) {
    throw new DeliveryError("not_found", `pod ${externalId} is not in this consumer's namespaces (${target.namespaces.join(", ")}); nothing was deleted`, { retryable: false });
  }
  const what = `${pods.api}: restarting pod ${namespace}/${name}`;
  const pod = await pods.call(
    { what: `${what}: reading it`, notFound: `pod ${name} no longer exists in namespace ${namespace}`, forbidden: "RBAC must allow get on pods in that namespace" },
    () => pods.core.readNamespacedPod({ name, namespace }),
  );
  if ((await reference(pod, target.secretName, serviceAccounts(pods, namespace, target.secretName))) === undefined) {
    throw new DeliveryError("not_found", `${what}: it does not pull with Secret ${target.secretName}; nothing was deleted`, { retryable: false });
  }
  const controller = (pod.metadata?.ownerReferences ?? []).find((owner) => owner.controller === true);
  if (controller === undefined) {
    throw new DeliveryError(
      "restart_unsupported",
      `${what}: it has no controller (no ownerReference with controller: true), so a deleted pod would not come back; recreate it yourself`,
      { retryable: false },
    );
  }
  const uid = pod.metadata?.uid;
  try {
    await pods.call(
      { what: `${what}: deleting it`, notFound: `pod ${name} no longer exists in namespace ${namespace}`, forbidden: "RBAC must allow delete on pods in that namespace" },
      () => pods.core.deleteNamespacedPod(uid === undefined ? { name, namespace } : { name, namespace, body: { preconditions: { uid } } }),
    );
  } catch (error) {
    // Gone (404) or replaced by a pod of the same name (409, the uid precondition): the pod that
    // held the old login no longer runs, and its successor must not be deleted by a retry.
    if (error instanceof DeliveryError && (error.code === "not_found" || error.code === "conflict")) {
      return { detail: `pod ${namespace}/${name} was already deleted or replaced; its ${controller.kind} ${controller.name} runs a new one, nothing more was deleted` };
    }
    throw error;
  }
  return { detail: `deleted pod ${namespace}/${name}; its ${controller.kind} ${controller.name} starts a new one, which pulls with the current secret` };
}
