import { defineTargetModule } from "@pullkeeper/core";
import { gitpodSecretTargetSchema } from "./schema.js";

export const gitpodSecretModule = defineTargetModule({
  kind: "gitpod-secret",
  schema: gitpodSecretTargetSchema,
  provider: "gitpod",
  defaultRateLimit: 5,
  capabilities: { discoverEnvironments: true, restart: true },
  environmentKind: "gitpod-environment",
  secretFields: ["tokenSecret"],
  implementation: () => import("./gitpod-target.js" as string),
});
