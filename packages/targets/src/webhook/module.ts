import { defineTargetModule } from "@pullkeeper/core";
import { webhookTargetSchema } from "./schema.js";

export const webhookModule = defineTargetModule({
  kind: "webhook",
  schema: webhookTargetSchema,
  secretFields: ["signingSecret"],
  implementation: () => import("./webhook-target.js" as string),
});
