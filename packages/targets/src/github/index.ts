export { GitHubSecretsClient, type GitHubClientOptions, type SecretLocation, type SecretWrite } from "./client.js";
export { discoverCodespaces, RUNNING_CODESPACE_STATES, stopCodespace } from "./codespaces-environments.js";
export { githubDeliveryError, SECONDARY_LIMIT_FALLBACK_MS } from "./errors.js";
export {
  type CodespacesSecretTargetConfig,
  codespacesSecretTargetSchema,
  DEFAULT_PASSWORD_SECRET,
  DEFAULT_USERNAME_SECRET,
  type DependabotSecretTargetConfig,
  dependabotSecretTargetSchema,
  GITHUB_API_URL,
  type GitHubActionsSecretTargetConfig,
  githubActionsSecretTargetSchema,
} from "./schema.js";
export { sealSecret } from "./sealed-box.js";
export { CodespacesSecretTarget, DependabotSecretTarget, GitHubActionsSecretTarget, githubProvider, githubTargets, type GitHubTargetsOptions, secretLocation } from "./targets.js";
