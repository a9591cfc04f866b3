import { defineTargetModule } from "@pullkeeper/core";
import { kubernetesSecretTargetSchema } from "./schema.js";

export const kubernetesSecretModule = defineTargetModule({
  kind: "kubernetes-secret",
  schema: kubernetesSecretTargetSchema,
  provider: { name: "kubernetes", defaultRateLimit: 20 },
  environments: { kind: "kubernetes-pod", restart: true },
  // No secretFields: the cluster credentials come from the kubeconfig or the pod's service account.
  implementation: () => import("./kubernetes-target.js" as string),
});
