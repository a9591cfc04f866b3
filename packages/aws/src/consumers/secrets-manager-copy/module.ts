import { defineTargetModule } from "@pullkeeper/core";
import { secretsManagerCopyPermissions } from "./permissions.js";
import { secretsManagerCopyTargetSchema } from "./schema.js";

export const secretsManagerCopyModule = defineTargetModule({
  kind: "secrets-manager-copy",
  schema: secretsManagerCopyTargetSchema,
  // PutSecretValue's quota is 50 requests/s per account and region; a delivery makes one write (plus a read back).
  provider: { name: "aws:secretsmanager", defaultRateLimit: 20 },
  permissions: secretsManagerCopyPermissions,
  implementation: () => import("./secrets-manager-copy-target.js" as string),
});
