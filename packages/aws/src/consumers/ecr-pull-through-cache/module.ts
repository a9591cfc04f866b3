import { defineTargetModule } from "@pullkeeper/core";
import { ecrPullThroughCachePermissions } from "./permissions.js";
import { ecrPullThroughCacheTargetSchema } from "./schema.js";

export const ecrPullThroughCacheModule = defineTargetModule({
  kind: "ecr-pull-through-cache",
  schema: ecrPullThroughCacheTargetSchema,
  // The same Secrets Manager write budget as every copy (PutSecretValue: 50/s per account and region).
  provider: { name: "aws:secretsmanager", defaultRateLimit: 20 },
  permissions: ecrPullThroughCachePermissions,
  implementation: () => import("./ecr-pull-through-cache-target.js" as string),
});
