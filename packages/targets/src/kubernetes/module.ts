import type { TargetModule } from "@pullkeeper/core";
import { kubernetesSecretTargetSchema } from "./schema.js";

export const kubernetesSecretModule: TargetModule = {
  kind: "kubernetes-secret",
  schema: kubernetesSecretTargetSchema,
  provider: "kubernetes",
  capabilities: { discoverEnvironments: true, restart: true },
  environmentKind: "kubernetes-pod",
  // The cluster credentials come from the kubeconfig or the pod's service account, not a secret.
  secretsRead: () => [],
};
