import { defineTargetModule } from "@pullkeeper/core";
import { dockerConfigTargetSchema } from "./schema.js";

export const dockerConfigModule = defineTargetModule({
  kind: "docker-config",
  schema: dockerConfigTargetSchema,
  implementation: () => import("./docker-config-target.js" as string),
});
