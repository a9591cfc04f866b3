import { defineTargetModule } from "@pullkeeper/core";
import { codeBuildProjectPermissions } from "./permissions.js";
import { codeBuildProjectArnRegion, codeBuildProjectTargetSchema } from "./schema.js";

export const codeBuildProjectModule = defineTargetModule({
  kind: "codebuild-project",
  schema: codeBuildProjectTargetSchema,
  provider: { name: "aws:codebuild", defaultRateLimit: 10 },
  // Builds are found, but a build cannot be restarted in place and stopping one fails it.
  environments: { kind: "codebuild-build" },
  permissions: codeBuildProjectPermissions,
  regionsNamed: (target) => {
    const parsed = codeBuildProjectTargetSchema.safeParse(target);
    return parsed.success ? [parsed.data.region ?? codeBuildProjectArnRegion(parsed.data.project)] : [];
  },
  implementation: () => import("./codebuild-target.js" as string),
  undeclaredSearch: () => import("./undeclared.js" as string),
});
