import * as z from "zod";

export const DEFAULT_GITPOD_API_URL = "https://app.gitpod.io/api";

const uuidLike = z.string().min(1, "must not be empty").max(200);

/**
 * Where the secret lives in Gitpod: exactly one of a project, an organization or a user,
 * spelled as `SecretService.ListSecrets`' `filter.scope` (see the fixtures).
 */
export const gitpodSecretScopeSchema = z.union([
  z.strictObject({ projectId: uuidLike }),
  z.strictObject({ organizationId: uuidLike }),
  z.strictObject({ userId: uuidLike }),
], { error: "expected exactly one of { projectId }, { organizationId } or { userId }" });

export type GitpodSecretScope = z.output<typeof gitpodSecretScopeSchema>;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname));
  } catch {
    return false;
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * A consumer of kind `gitpod-secret`: a Gitpod (Flex) "container registry basic auth" secret,
 * value `username:password`, for the registry's host.
 */
export const gitpodSecretTargetSchema = z.strictObject({
  kind: z.literal("gitpod-secret"),
  /** The secret's name in Gitpod. */
  name: z.string().min(1, "must not be empty").max(255),
  scope: gitpodSecretScopeSchema,
  /** Gitpod's public API base URL (Connect protocol); https, or http on loopback for tests. */
  apiUrl: z
    .string()
    .refine(isHttpUrl, "expected an https URL (http only for localhost / 127.0.0.1 / [::1])")
    .transform((u) => u.replace(/\/+$/, ""))
    .default(DEFAULT_GITPOD_API_URL),
  /** Id of the secret that holds the Gitpod personal access token as {"username":"gitpod","password":"<token>"}. */
  tokenSecret: z.string().min(1, "must not be empty"),
  /**
   * The value Gitpod stores as the secret's registry host; default `https://<registry host>`
   * (`https://index.docker.io/v1/` for Docker Hub, as docker's own config does).
   */
  registryHost: z.string().min(1).optional(),
});

export type GitpodSecretTargetConfig = z.output<typeof gitpodSecretTargetSchema>;
