import { defineTargetModule } from "@pullkeeper/core";
import { gitpodSecretTargetSchema } from "./schema.js";

export const gitpodSecretModule = defineTargetModule({
  kind: "gitpod-secret",
  schema: gitpodSecretTargetSchema,
  provider: { name: "gitpod", defaultRateLimit: 5 },
  environments: { kind: "gitpod-environment", restart: true },
  secretFields: ["tokenSecret"],
  implementation: () => import("./gitpod-target.js" as string),
});
