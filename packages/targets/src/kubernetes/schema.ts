import * as z from "zod";

/** RFC 1123 label, as Kubernetes checks namespace names: lower-case alphanumerics and '-', at most 63. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain, as Kubernetes checks Secret and ServiceAccount names: labels joined by '.', at most 253. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const dns1123Label = z
  .string()
  .max(63, "at most 63 characters (a DNS-1123 label)")
  .regex(DNS1123_LABEL, "expected a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit");

const dns1123Subdomain = z
  .string()
  .max(253, "at most 253 characters (a DNS-1123 subdomain)")
  .regex(DNS1123_SUBDOMAIN, "expected a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit");

/**
 * A consumer of kind `kubernetes-secret`: a Secret of type `kubernetes.io/dockerconfigjson`
 * named `secretName` in each of `namespaces`, optionally listed in a ServiceAccount's
 * `imagePullSecrets` there.
 */
export const kubernetesSecretTargetSchema = z.strictObject({
  kind: z.literal("kubernetes-secret"),
  /** The Secret's name, the same in every namespace. */
  secretName: dns1123Subdomain,
  /** Where the Secret must exist; each namespace must exist already (pullkeeper never creates one). */
  namespaces: z
    .array(dns1123Label)
    .min(1, "list at least one namespace")
    .refine((ns) => new Set(ns).size === ns.length, "a namespace is listed twice"),
  /** A ServiceAccount (in each namespace) whose `imagePullSecrets` must list the Secret; added if missing. */
  serviceAccount: dns1123Subdomain.optional(),
  /** Path of a kubeconfig file (`~` expanded). Default: in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config. */
  kubeconfig: z.string().min(1).optional(),
  /** A context of that kubeconfig; default: its current-context. */
  context: z.string().min(1).optional(),
});

export type KubernetesSecretTargetConfig = z.output<typeof kubernetesSecretTargetSchema>;
