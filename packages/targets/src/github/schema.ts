import * as z from "zod";

/** GitHub's own API; anything else is GitHub Enterprise Server (e.g. https://ghe.example.com/api/v3). */
export const GITHUB_API_URL = "https://api.github.com";

/**
 * GitHub secret names: letters, digits and underscores, not starting with a digit nor with
 * `GITHUB_`. GitHub upper-cases names itself; pullkeeper asks for upper case so the names in the
 * config are the names people see in GitHub's UI.
 */
const SECRET_NAME = /^[A-Z_][A-Z0-9_]*$/;
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPOSITORY = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

function secretNameSchema(what: string, maxLength = 255) {
  return z
    .string()
    .max(maxLength, `${what} is too long (at most ${maxLength} characters)`)
    .regex(SECRET_NAME, `${what} must use only A-Z, 0-9 and _ and must not start with a digit`)
    .refine((n) => !n.startsWith("GITHUB_"), `${what} must not start with GITHUB_ (GitHub reserves that prefix)`);
}

const tokenSecret = z.string().min(1, "tokenSecret must name the secret holding the GitHub token");
const baseUrl = z
  .url({ protocol: /^https?$/, error: "baseUrl must be an http(s) URL such as https://ghe.example.com/api/v3" })
  .transform((u) => u.replace(/\/+$/, ""));
const repository = z.string().regex(REPOSITORY, "repository must be owner/name");
const organization = z.string().regex(OWNER, "organization must be a GitHub organization login");
const repositoryIds = z.array(z.number().int().positive()).min(1, "list at least one repository id");
const visibility = z.enum(["all", "private", "selected"]);

/** Fields every GitHub target shares. */
const common = {
  /** Id of the secret holding the GitHub token, as `{"username":"x-access-token","password":"<token>"}`. */
  tokenSecret,
  /** GitHub Enterprise Server API root; default https://api.github.com. */
  baseUrl: baseUrl.optional(),
};

/** Organization secrets: `selected` needs the repositories, the other visibilities take none. */
function checkVisibility(t: { scope: string; visibility?: string | undefined; selectedRepositoryIds?: readonly number[] | undefined }, ctx: z.RefinementCtx): void {
  if (t.scope !== "organization") return;
  if (t.visibility === "selected" && t.selectedRepositoryIds === undefined) {
    ctx.addIssue({ code: "custom", path: ["selectedRepositoryIds"], message: "visibility selected needs selectedRepositoryIds" });
  }
  if (t.visibility !== "selected" && t.selectedRepositoryIds !== undefined) {
    ctx.addIssue({ code: "custom", path: ["selectedRepositoryIds"], message: `selectedRepositoryIds is only allowed with visibility selected (visibility is ${t.visibility ?? "unset"})` });
  }
}

const userScope = z.strictObject({
  scope: z.literal("user"),
  /** The repositories whose codespaces get the user secret (GitHub repository ids). */
  selectedRepositoryIds: repositoryIds,
});
const repositoryScope = z.strictObject({ scope: z.literal("repository"), repository });
const environmentScope = z.strictObject({
  scope: z.literal("environment"),
  repository,
  environment: z.string().min(1).max(255),
});
const organizationScope = z.strictObject({
  scope: z.literal("organization"),
  organization,
  visibility,
  selectedRepositoryIds: repositoryIds.optional(),
});

/**
 * `codespaces-secret`: the three secrets GitHub Codespaces reads when a codespace starts,
 * `<prefix>_CONTAINER_REGISTRY_SERVER`, `_USER` and `_PASSWORD`, at user, repository or
 * organization level.
 */
export const codespacesSecretTargetSchema = z
  .discriminatedUnion("scope", [
    userScope.extend({ kind: z.literal("codespaces-secret"), prefix: secretNameSchema("prefix", 200), ...common }),
    repositoryScope.extend({ kind: z.literal("codespaces-secret"), prefix: secretNameSchema("prefix", 200), ...common }),
    organizationScope.extend({ kind: z.literal("codespaces-secret"), prefix: secretNameSchema("prefix", 200), ...common }),
  ])
  .superRefine(checkVisibility);

export type CodespacesSecretTargetConfig = z.output<typeof codespacesSecretTargetSchema>;

export const DEFAULT_USERNAME_SECRET = "REGISTRY_USERNAME";
export const DEFAULT_PASSWORD_SECRET = "REGISTRY_PASSWORD";

/** The user and password secret names, configurable, different from each other. */
const names = {
  usernameSecret: secretNameSchema("usernameSecret").default(DEFAULT_USERNAME_SECRET),
  passwordSecret: secretNameSchema("passwordSecret").default(DEFAULT_PASSWORD_SECRET),
};

function checkNames(t: { usernameSecret: string; passwordSecret: string }, ctx: z.RefinementCtx): void {
  if (t.usernameSecret === t.passwordSecret) {
    ctx.addIssue({ code: "custom", path: ["passwordSecret"], message: `passwordSecret must differ from usernameSecret (both are ${t.usernameSecret})` });
  }
}

/** `github-actions-secret`: the registry user and password as Actions secrets (repository, environment or organization). */
export const githubActionsSecretTargetSchema = z
  .discriminatedUnion("scope", [
    repositoryScope.extend({ kind: z.literal("github-actions-secret"), ...names, ...common }),
    environmentScope.extend({ kind: z.literal("github-actions-secret"), ...names, ...common }),
    organizationScope.extend({ kind: z.literal("github-actions-secret"), ...names, ...common }),
  ])
  .superRefine((t, ctx) => {
    checkVisibility(t, ctx);
    checkNames(t, ctx);
  });

export type GitHubActionsSecretTargetConfig = z.output<typeof githubActionsSecretTargetSchema>;

/** `dependabot-secret`: the registry user and password as Dependabot secrets (repository or organization). */
export const dependabotSecretTargetSchema = z
  .discriminatedUnion("scope", [
    repositoryScope.extend({ kind: z.literal("dependabot-secret"), ...names, ...common }),
    organizationScope.extend({ kind: z.literal("dependabot-secret"), ...names, ...common }),
  ])
  .superRefine((t, ctx) => {
    checkVisibility(t, ctx);
    checkNames(t, ctx);
  });

export type DependabotSecretTargetConfig = z.output<typeof dependabotSecretTargetSchema>;

/** The parts of a config that say where the secrets live. */
export type GitHubSecretScope =
  | { readonly scope: "user"; readonly selectedRepositoryIds: readonly number[] }
  | { readonly scope: "repository"; readonly repository: string }
  | { readonly scope: "environment"; readonly repository: string; readonly environment: string }
  | { readonly scope: "organization"; readonly organization: string; readonly visibility: "all" | "private" | "selected"; readonly selectedRepositoryIds?: readonly number[] | undefined };

/** Splits `owner/name`; the schema has already checked the shape. */
export function splitRepository(repo: string): { owner: string; repo: string } {
  const m = REPOSITORY.exec(repo);
  if (m === null) throw new Error(`not owner/name: ${repo}`);
  return { owner: m[1] ?? "", repo: m[2] ?? "" };
}
