import { defineTargetModule } from "@pullkeeper/core";
import { parseArn } from "../shared/arn.js";
import { ecsTaskDefinitionPermissions } from "./permissions.js";
import { ecsTaskDefinitionTargetSchema } from "./schema.js";

export const ecsTaskDefinitionModule = defineTargetModule({
  kind: "ecs-task-definition",
  schema: ecsTaskDefinitionTargetSchema,
  provider: { name: "aws:ecs", defaultRateLimit: 10 },
  environments: { kind: "ecs-task", restart: true },
  permissions: ecsTaskDefinitionPermissions,
  regionsNamed: (target) => {
    const parsed = ecsTaskDefinitionTargetSchema.safeParse(target);
    if (!parsed.success) return [];
    return [parsed.data.region, ...(parsed.data.rollServices ?? []).flatMap((s) => [s.cluster, s.service].map((ref) => parseArn(ref)?.region))];
  },
  implementation: () => import("./ecs-target.js" as string),
  undeclaredSearch: () => import("./undeclared.js" as string),
});
