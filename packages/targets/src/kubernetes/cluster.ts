import type { KubeConfig } from "@kubernetes/client-node";
import { DeliveryError } from "@pullkeeper/core";
import { join } from "node:path";

/**
 * The client library is ~1 MB bundled: loaded when a Kubernetes consumer is first served, so a
 * function that never reaches a cluster (and, with code splitting, its cold start) never loads it.
 */
export type ClientNode = typeof import("@kubernetes/client-node");
let clientNode: Promise<ClientNode> | undefined;
export const loadClientNode = (): Promise<ClientNode> => (clientNode ??= import("@kubernetes/client-node"));

/**
 * What the Kubernetes target's deliveries, discovery and restarts share: loading the cluster from
 * a kubeconfig (or in-cluster), one API call with a deadline, and turning the client library's
 * errors into DeliveryErrors built only from the HTTP status and the Status `reason`.
 */

/** What one API call is about, for messages: never a value, never the library's own error text. */
export interface ApiCall {
  readonly what: string;
  /** 404 on this call means: */
  readonly notFound: string;
  /** What RBAC must allow for this call, said on a 403; default: what a delivery needs. */
  readonly forbidden?: string;
}

/** The parts of a `kubernetes-secret` target that say which cluster. */
export interface ClusterConfig {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

export interface LoadedCluster {
  readonly lib: ClientNode;
  readonly kc: KubeConfig;
  readonly server: URL;
  /** For people: "kubeconfig ~/.kube/config, context prod". */
  readonly source: string;
}

/** Runs one call, rejecting with a `timeout` DeliveryError after `timeoutMs`; every failure is classified. */
export async function callApi<T>(call: ApiCall, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeliveryError("timeout", `${call.what}: no answer within ${timeoutMs} ms`, { retryable: true })), timeoutMs);
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

/** The kubeconfig the target names, else in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config; `invalid_target` when unusable. */
export async function loadCluster(target: ClusterConfig, env: Readonly<Record<string, string | undefined>>, home: string): Promise<LoadedCluster> {
  const lib = await loadClientNode();
  const kc = new lib.KubeConfig();
  let source: string;
  try {
    if (target.kubeconfig !== undefined) {
      source = `kubeconfig ${expandHome(target.kubeconfig, home)}`;
      kc.loadFromFile(expandHome(target.kubeconfig, home));
    } else if (env.KUBERNETES_SERVICE_HOST) {
      source = "in-cluster service account";
      kc.loadFromCluster();
    } else {
      source = `kubeconfig ${join(home, ".kube", "config")}`;
      kc.loadFromFile(join(home, ".kube", "config"));
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
  return { lib, kc, server, source };
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

/** The library's ApiException by shape (an HTTP status, a body, headers), so classifying needs no library loaded. */
function isApiException(error: unknown): error is { code: number; body: unknown; headers?: Record<string, string | undefined> } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "number" && "body" in error;
}

/**
 * 401 unauthorized · 403 forbidden · 404 not_found · 409 conflict (retryable) · 429 throttled
 * (retryable, Retry-After) · 400/422 invalid_request · 408/5xx, network and unknown: unavailable
 * (retryable). Messages: what was being done + status + reason; nothing from the library's text.
 */
export function kubernetesDeliveryError(error: unknown, call: ApiCall): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (isApiException(error)) {
    const status = error.code;
    const reason = statusReason(error.body);
    const text = `${call.what}: HTTP ${status}${reason === undefined ? "" : ` ${reason}`}`;
    const headers = (error.headers ?? {}) as Record<string, string | undefined>;
    switch (true) {
      case status === 401:
        return new DeliveryError("unauthorized", `${text}: the API server rejected pullkeeper's credentials (expired or wrong token?)`, { retryable: false });
      case status === 403:
        return new DeliveryError("forbidden", `${text}: ${call.forbidden ?? "RBAC must allow create and patch on secrets in that namespace (and get and patch on serviceaccounts, with serviceAccount)"}`, { retryable: false });
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
