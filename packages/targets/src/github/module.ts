import type { TargetModule } from "@pullkeeper/core";
import { codespacesSecretTargetSchema, dependabotSecretTargetSchema, githubActionsSecretTargetSchema } from "./schema.js";

export const codespacesSecretModule: TargetModule = {
  kind: "codespaces-secret",
  schema: codespacesSecretTargetSchema,
  provider: "github",
  capabilities: { discoverEnvironments: true, restart: true },
  environmentKind: "codespace",
  secretsRead: ({ tokenSecret }) => (typeof tokenSecret === "string" ? [tokenSecret] : []),
};

export const githubActionsSecretModule: TargetModule = {
  kind: "github-actions-secret",
  schema: githubActionsSecretTargetSchema,
  provider: "github",
  capabilities: { discoverEnvironments: false, restart: false },
  secretsRead: ({ tokenSecret }) => (typeof tokenSecret === "string" ? [tokenSecret] : []),
};

export const dependabotSecretModule: TargetModule = {
  kind: "dependabot-secret",
  schema: dependabotSecretTargetSchema,
  provider: "github",
  capabilities: { discoverEnvironments: false, restart: false },
  secretsRead: ({ tokenSecret }) => (typeof tokenSecret === "string" ? [tokenSecret] : []),
};
