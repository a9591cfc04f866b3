import type { TargetModule } from "@pullkeeper/core";
import { codeBuildProjectTargetSchema } from "./schema.js";

export const codeBuildProjectModule: TargetModule = {
  kind: "codebuild-project",
  schema: codeBuildProjectTargetSchema,
  provider: "aws:codebuild",
  // Builds are found, but a build cannot be restarted in place and stopping one fails it.
  capabilities: { discoverEnvironments: true, restart: false },
  environmentKind: "codebuild-build",
  secretsRead: () => [],
};
