import { DeliveryError, type DiscoveredEnvironment, type RestartOutcome } from "@pullkeeper/core";
import type { GitHubSecretsClient } from "./client.js";
import { type CodespacesSecretTargetConfig, splitRepository } from "./schema.js";

/**
 * Codespace `state` values (GitHub's OpenAPI enum) that mean a machine is up with the secrets it
 * read when it started:
 * - kept: Available (up), Starting (reading its secrets right now), Rebuilding and Updating (the
 *   container is recreated or updated on a machine that is up), Exporting (up while its changes
 *   are exported to a branch);
 * - left out: Created, Queued, Provisioning and Awaiting have not started, so they read whatever
 *   the secret holds when they do; Shutdown, ShuttingDown, Archived, Deleted, Moved, Failed,
 *   Unavailable and Unknown have nothing running that could use an old value.
 */
export const RUNNING_CODESPACE_STATES: ReadonlySet<string> = new Set(["Available", "Starting", "Rebuilding", "Updating", "Exporting"]);

/** The fields of GitHub's `codespace` object that discovery reads; everything is checked, nothing trusted. */
interface CodespacePayload {
  readonly name?: unknown;
  readonly display_name?: unknown;
  readonly state?: unknown;
  readonly last_used_at?: unknown;
  readonly created_at?: unknown;
  readonly web_url?: unknown;
  readonly owner?: { readonly login?: unknown } | null;
  readonly repository?: { readonly id?: unknown; readonly full_name?: unknown; readonly private?: unknown; readonly owner?: { readonly login?: unknown } | null } | null;
}

/** Where a consumer's codespaces are listed, and which of the listed ones load its secrets. */
interface CodespaceSource {
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly description: string;
  readonly covers: (codespace: CodespacePayload) => boolean;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function sameLogin(a: unknown, b: string): boolean {
  return typeof a === "string" && a.toLowerCase() === b.toLowerCase();
}

/**
 * - user: the token's user's codespaces (`GET /user/codespaces`) on the secret's selected repositories;
 * - repository: `GET /repos/{owner}/{repo}/codespaces`. GitHub lists only the token's user's
 *   codespaces there, so other people's codespaces on the repository are not seen;
 * - organization: every codespace of the organization (`GET /orgs/{org}/codespaces`, needs an
 *   organization admin token) on a repository the secret's visibility reaches: all of the
 *   organization's, its private (and internal, which GitHub reports as private) ones, or the selected ones.
 */
function codespaceSource(config: CodespacesSecretTargetConfig): CodespaceSource {
  switch (config.scope) {
    case "user": {
      const ids = new Set(config.selectedRepositoryIds);
      return {
        route: "GET /user/codespaces",
        params: {},
        description: `the token's user (repositories ${config.selectedRepositoryIds.join(", ")})`,
        covers: (c) => typeof c.repository?.id === "number" && ids.has(c.repository.id),
      };
    }
    case "repository": {
      const { owner, repo } = splitRepository(config.repository);
      return {
        route: "GET /repos/{owner}/{repo}/codespaces",
        params: { owner, repo },
        description: `repo ${config.repository}`,
        covers: (c) => sameLogin(c.repository?.full_name, config.repository),
      };
    }
    case "organization": {
      const org = config.organization;
      const selected = new Set(config.selectedRepositoryIds ?? []);
      const reaches = (c: CodespacePayload): boolean =>
        config.visibility === "all" ? true : config.visibility === "private" ? c.repository?.private === true : typeof c.repository?.id === "number" && selected.has(c.repository.id);
      return {
        route: "GET /orgs/{org}/codespaces",
        params: { org },
        description: `org ${org} (visibility ${config.visibility})`,
        covers: (c) => sameLogin(c.repository?.owner?.login, org) && reaches(c),
      };
    }
  }
}

function parseDate(value: unknown): Date | undefined {
  if (typeof value !== "string") return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

function toEnvironment(codespace: CodespacePayload & { name: string }, state: string): DiscoveredEnvironment {
  const lastStarted = parseDate(codespace.last_used_at);
  const created = parseDate(codespace.created_at);
  const facts = [
    text(codespace.repository?.full_name) === undefined ? undefined : `repository ${String(codespace.repository?.full_name)}`,
    text(codespace.owner?.login) === undefined ? undefined : `owner ${String(codespace.owner?.login)}`,
    // Without a start time the codespace is judged as if it held the oldest value: never hidden, never called current by mistake.
    lastStarted !== undefined ? undefined : created !== undefined ? "no last_used_at: start time is its creation time" : "GitHub gave no start time",
  ].filter((f): f is string => f !== undefined);
  const url = text(codespace.web_url);
  return {
    externalId: codespace.name,
    kind: "codespace",
    name: text(codespace.display_name) ?? codespace.name,
    startedAt: lastStarted ?? created ?? new Date(0),
    status: state,
    ...(url === undefined ? {} : { url }),
    ...(facts.length === 0 ? {} : { detail: facts.join(", ") }),
  };
}

function named(codespace: CodespacePayload, where: string): CodespacePayload & { name: string } {
  if (text(codespace.name) === undefined) {
    throw new DeliveryError("invalid_response", `listing codespaces of ${where}: GitHub returned a codespace without a name`, { retryable: true });
  }
  return codespace as CodespacePayload & { name: string };
}

/** Every running codespace that loads the consumer's secrets (all pages). */
export async function discoverCodespaces(client: GitHubSecretsClient, config: CodespacesSecretTargetConfig): Promise<DiscoveredEnvironment[]> {
  const source = codespaceSource(config);
  const found: DiscoveredEnvironment[] = [];
  for await (const page of client.pages<CodespacePayload>(config.baseUrl, config.tokenSecret, source.route, source.params, `listing codespaces of ${source.description}`)) {
    for (const codespace of page) {
      const state = text(codespace.state);
      if (state === undefined || !RUNNING_CODESPACE_STATES.has(state) || !source.covers(codespace)) continue;
      found.push(toEnvironment(named(codespace, source.description), state));
    }
  }
  return found;
}

/**
 * Stops one of the consumer's codespaces; it reads the current secrets when its owner starts it again.
 *
 * The codespace is read back first, and refused unless it is one this consumer's secrets reach,
 * so a restart can never stop an unrelated codespace:
 * - user and repository scope: `GET` then `POST /user/codespaces/{name}/stop`. For repository scope
 *   this is also the right endpoint on an organization's repository: discovery there only sees the
 *   token's user's own codespaces, and the user endpoint needs no organization admin rights;
 * - organization scope: the owner's login comes from the organization's list (GitHub has no
 *   single-codespace read for an organization), then `POST /orgs/{org}/members/{username}/codespaces/{name}/stop`.
 */
export async function stopCodespace(client: GitHubSecretsClient, config: CodespacesSecretTargetConfig, name: string): Promise<RestartOutcome> {
  const source = codespaceSource(config);
  const what = `stopping codespace ${name} of ${source.description}`;
  const outOfScope = (): DeliveryError =>
    new DeliveryError("not_found", `${what}: it is not one of the codespaces this consumer's secrets reach (deleted, or on another repository); nothing was stopped`, { retryable: false });

  if (config.scope === "organization") {
    let owner: string | undefined;
    search: for await (const page of client.pages<CodespacePayload>(config.baseUrl, config.tokenSecret, source.route, source.params, `${what}: looking it up`)) {
      for (const codespace of page) {
        if (codespace.name !== name) continue;
        if (!source.covers(codespace)) throw outOfScope();
        owner = text(codespace.owner?.login);
        if (owner === undefined) throw new DeliveryError("invalid_response", `${what}: GitHub lists it without an owner login`, { retryable: true });
        break search;
      }
    }
    if (owner === undefined) throw outOfScope();
    await client.call(config.baseUrl, config.tokenSecret, "POST /orgs/{org}/members/{username}/codespaces/{codespace_name}/stop", { org: config.organization, username: owner, codespace_name: name }, what);
  } else {
    const codespace = await client.call<CodespacePayload>(config.baseUrl, config.tokenSecret, "GET /user/codespaces/{codespace_name}", { codespace_name: name }, `${what}: looking it up`);
    if (!source.covers(codespace)) throw outOfScope();
    await client.call(config.baseUrl, config.tokenSecret, "POST /user/codespaces/{codespace_name}/stop", { codespace_name: name }, what);
  }
  return { detail: `stopped codespace ${name}; it loads the current secret when it starts again` };
}
