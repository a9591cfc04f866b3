import type { TargetModule } from "@pullkeeper/core";
import { dockerConfigTargetSchema } from "./schema.js";

export const dockerConfigModule: TargetModule = {
  kind: "docker-config",
  schema: dockerConfigTargetSchema,
  provider: "docker-config",
  capabilities: { discoverEnvironments: false, restart: false },
  secretsRead: () => [],
};
