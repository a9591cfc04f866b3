import type { TargetModule } from "@pullkeeper/core";
import { gitpodSecretTargetSchema } from "./schema.js";

export const gitpodSecretModule: TargetModule = {
  kind: "gitpod-secret",
  schema: gitpodSecretTargetSchema,
  provider: "gitpod",
  capabilities: { discoverEnvironments: true, restart: true },
  environmentKind: "gitpod-environment",
  secretsRead: ({ tokenSecret }) => (typeof tokenSecret === "string" ? [tokenSecret] : []),
};
