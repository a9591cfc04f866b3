import { defineTargetModule } from "@pullkeeper/core";
import { kubernetesSecretTargetSchema } from "./schema.js";

export const kubernetesSecretModule = defineTargetModule({
  kind: "kubernetes-secret",
  schema: kubernetesSecretTargetSchema,
  provider: "kubernetes",
  defaultRateLimit: 20,
  capabilities: { discoverEnvironments: true, restart: true },
  environmentKind: "kubernetes-pod",
  // No secretFields: the cluster credentials come from the kubeconfig or the pod's service account.
  implementation: () => import("./kubernetes-target.js" as string),
});
