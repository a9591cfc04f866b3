import type { TargetModule } from "@pullkeeper/core";
import { webhookTargetSchema } from "./schema.js";

export const webhookModule: TargetModule = {
  kind: "webhook",
  schema: webhookTargetSchema,
  provider: "webhook",
  capabilities: { discoverEnvironments: false, restart: false },
  secretsRead: ({ signingSecret }) => (typeof signingSecret === "string" ? [signingSecret] : []),
};
