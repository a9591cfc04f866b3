import type { TargetModule } from "@pullkeeper/core";
import { ecsTaskDefinitionTargetSchema } from "./schema.js";

export const ecsTaskDefinitionModule: TargetModule = {
  kind: "ecs-task-definition",
  schema: ecsTaskDefinitionTargetSchema,
  provider: "aws:ecs",
  capabilities: { discoverEnvironments: true, restart: true },
  environmentKind: "ecs-task",
  secretsRead: () => [],
};
