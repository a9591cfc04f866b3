/** Codespace payloads with GitHub's full shape, built from the REST docs' verbatim example. */
import { fixture } from "./fixtures.js";

/** One codespace exactly as GitHub's REST docs show it (the `codespaces-list` OpenAPI example). */
export const CODESPACES_FIXTURE = "github/get-user-codespaces.response.openapi-example-codespaces-list.verbatim.json";

export interface CodespaceOptions {
  readonly name: string;
  readonly state?: string;
  readonly owner?: string;
  /** owner/name */
  readonly repository?: string;
  readonly repositoryId?: number;
  readonly private?: boolean;
  readonly displayName?: string | null;
  readonly lastUsedAt?: string;
}

/** A codespace payload with GitHub's full shape: the docs' first example, with these fields changed. */
export function codespacePayload(o: CodespaceOptions): Record<string, unknown> {
  const base = fixture<{ codespaces: Record<string, unknown>[] }>(CODESPACES_FIXTURE).codespaces[0] ?? {};
  const owner = { ...(base.owner as Record<string, unknown>), login: o.owner ?? "octocat" };
  const baseRepo = base.repository as Record<string, unknown>;
  const [repoOwner = "octocat", repoName = "Hello-World"] = (o.repository ?? "octocat/Hello-World").split("/");
  const repository = {
    ...baseRepo,
    id: o.repositoryId ?? (baseRepo.id as number),
    name: repoName,
    full_name: `${repoOwner}/${repoName}`,
    private: o.private ?? false,
    owner: { ...(baseRepo.owner as Record<string, unknown>), login: repoOwner, type: repoOwner === (o.owner ?? "octocat") ? "User" : "Organization" },
  };
  return {
    ...base,
    name: o.name,
    ...(o.displayName === undefined ? {} : { display_name: o.displayName }),
    owner,
    billable_owner: owner,
    repository,
    state: o.state ?? "Available",
    last_used_at: o.lastUsedAt ?? base.last_used_at,
    web_url: `https://${o.name}.github.dev`,
    url: `https://api.github.com/user/codespaces/${o.name}`,
  };
}
