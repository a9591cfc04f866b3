import { defineTargetModule, type TargetModuleSpec } from "@pullkeeper/core";
import { codespacesSecretTargetSchema, dependabotSecretTargetSchema, githubActionsSecretTargetSchema } from "./schema.js";

/** The three kinds share one client (targets.ts), one provider and its budget: GitHub's secondary limit, about 80 content-creating requests a minute. */
const github = {
  provider: { name: "github", defaultRateLimit: 80 / 60 },
  secretFields: ["tokenSecret"],
  implementation: () => import("./targets.js" as string),
} satisfies Partial<TargetModuleSpec>;

export const codespacesSecretModule = defineTargetModule({
  ...github,
  kind: "codespaces-secret",
  schema: codespacesSecretTargetSchema,
  environments: { kind: "codespace", restart: true },
  factory: "createCodespacesSecretTarget",
});

export const githubActionsSecretModule = defineTargetModule({ ...github, kind: "github-actions-secret", schema: githubActionsSecretTargetSchema, factory: "createGitHubActionsSecretTarget" });

export const dependabotSecretModule = defineTargetModule({ ...github, kind: "dependabot-secret", schema: dependabotSecretTargetSchema, factory: "createDependabotSecretTarget" });
