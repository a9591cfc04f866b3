import { DeliveryError, type DiscoveredEnvironment, type RestartOutcome } from "@pullkeeper/core";
import { type ConnectCallOptions, connectCall, redact } from "./connect.js";
import type { GitpodSecretTargetConfig } from "./schema.js";

const SERVICE = "gitpod.v1.EnvironmentService";
const MAX_PAGES = 100;

/**
 * Environment phases that hold the secrets they loaded at start: STARTING (loading them now),
 * RUNNING, UPDATING (a running environment taking a spec change). CREATING has not loaded them
 * yet and reads whatever is current when it does; STOPPING, STOPPED, DELETING and DELETED run nothing.
 */
export const RUNNING_GITPOD_PHASES: readonly string[] = ["ENVIRONMENT_PHASE_STARTING", "ENVIRONMENT_PHASE_RUNNING", "ENVIRONMENT_PHASE_UPDATING"];

/** One secret as an environment's spec or status reports it: ids, names, sessions and phases, never a value. */
interface EnvironmentSecret {
  readonly id?: string;
  readonly name?: string;
  readonly secretName?: string;
  readonly session?: string;
  readonly phase?: string;
  readonly failureMessage?: string;
  readonly warningMessage?: string;
}

/** The fields of `gitpod.v1.Environment` discovery reads (gitpod-sdk-typescript, EnvironmentMetadata/EnvironmentStatus). */
interface GitpodEnvironment {
  readonly id?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly projectId?: string;
    readonly creator?: { readonly id?: string };
    readonly lastStartedAt?: string;
    readonly createdAt?: string;
  };
  readonly spec?: { readonly secrets?: readonly EnvironmentSecret[] };
  readonly status?: { readonly phase?: string; readonly lastStartedAt?: string; readonly secrets?: readonly EnvironmentSecret[] };
}

interface ListEnvironmentsResponse {
  readonly environments?: readonly GitpodEnvironment[];
  readonly pagination?: { readonly nextToken?: string };
}

/**
 * ListEnvironments' filter for a secret's scope: a project's environments, a user's own
 * (creatorIds), or for an organization secret every environment the token's user may see
 * (ListEnvironments is already limited to the token's organization).
 */
function scopeFilter(target: GitpodSecretTargetConfig): { projectIds?: string[]; creatorIds?: string[] } {
  if ("projectId" in target.scope) return { projectIds: [target.scope.projectId] };
  if ("userId" in target.scope) return { creatorIds: [target.scope.userId] };
  return {};
}

/** Whether the environment is one the consumer's secret reaches; checked again here because a filter a server ignores must not widen discovery or a stop. */
function inScope(environment: GitpodEnvironment, target: GitpodSecretTargetConfig): boolean {
  if ("projectId" in target.scope) return environment.metadata?.projectId === target.scope.projectId;
  if ("userId" in target.scope) return environment.metadata?.creator?.id === target.scope.userId;
  return true;
}

function parseDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * What the environment says about the consumer's secret: the session it loaded and that
 * session's phase, and whether Gitpod already holds a newer session it has not loaded.
 */
function secretDetail(environment: GitpodEnvironment, name: string, secrets: readonly string[]): string {
  const specified = environment.spec?.secrets?.find((s) => s.name === name);
  const loaded = environment.status?.secrets?.find((s) => s.secretName === name || (specified?.id !== undefined && s.id === specified.id));
  if (loaded === undefined) return `secret ${name}: not reported in the environment's status`;
  const parts = [`secret ${name}: session ${loaded.session ?? "unknown"}${loaded.phase === undefined ? "" : ` (${loaded.phase})`}`];
  if (specified?.session !== undefined && loaded.session !== undefined && specified.session !== loaded.session) {
    parts.push(`Gitpod holds session ${specified.session}, not loaded yet`);
  }
  const problem = loaded.failureMessage || loaded.warningMessage;
  if (problem) parts.push(redact(problem.replace(/\s+/g, " ").slice(0, 200), secrets));
  return parts.join("; ");
}

function toEnvironment(environment: GitpodEnvironment & { id: string }, phase: string, target: GitpodSecretTargetConfig, secrets: readonly string[]): DiscoveredEnvironment {
  const started = parseDate(environment.metadata?.lastStartedAt) ?? parseDate(environment.status?.lastStartedAt);
  const created = parseDate(environment.metadata?.createdAt);
  const detail = [secretDetail(environment, target.name, secrets)];
  // Without a start time the environment is judged as if it held the oldest value: never hidden, never called current by mistake.
  if (started === undefined) detail.push(created === undefined ? "Gitpod gave no start time" : "no lastStartedAt: start time is its creation time");
  return {
    externalId: environment.id,
    kind: "gitpod-environment",
    name: environment.metadata?.name || environment.id,
    startedAt: started ?? created ?? new Date(0),
    status: phase,
    detail: detail.join("; "),
  };
}

/** Every running environment the consumer's secret reaches, following ListEnvironments' pages. */
export async function discoverGitpodEnvironments(call: ConnectCallOptions, target: GitpodSecretTargetConfig, pageSize: number): Promise<DiscoveredEnvironment[]> {
  const filter = { ...scopeFilter(target), statusPhases: [...RUNNING_GITPOD_PHASES] };
  const found: DiscoveredEnvironment[] = [];
  let pageToken: string | undefined;
  for (let page = 0; ; page++) {
    if (page === MAX_PAGES) throw new DeliveryError("unavailable", `Gitpod ListEnvironments returned more than ${MAX_PAGES} pages`, { retryable: true });
    const response = await connectCall<ListEnvironmentsResponse>(call, SERVICE, "ListEnvironments", {
      filter,
      pagination: pageToken === undefined ? { pageSize } : { token: pageToken, pageSize },
    });
    for (const environment of response.environments ?? []) {
      const phase = environment.status?.phase;
      if (typeof environment.id !== "string" || environment.id === "" || phase === undefined || !RUNNING_GITPOD_PHASES.includes(phase) || !inScope(environment, target)) continue;
      found.push(toEnvironment(environment as GitpodEnvironment & { id: string }, phase, target, call.secrets));
    }
    const next = response.pagination?.nextToken;
    if (next === undefined || next === "" || next === pageToken) return found;
    pageToken = next;
  }
}

/**
 * Stops one environment with `StopEnvironment`; it loads the current secret when it starts again.
 * It is read back first and refused unless the consumer's secret reaches it, so a restart never
 * stops an environment of another project or user.
 */
export async function stopGitpodEnvironment(call: ConnectCallOptions, target: GitpodSecretTargetConfig, environmentId: string): Promise<RestartOutcome> {
  const { environment } = await connectCall<{ environment?: GitpodEnvironment }>(call, SERVICE, "GetEnvironment", { environmentId });
  if (environment === undefined || !inScope(environment, target)) {
    throw new DeliveryError("not_found", `Gitpod environment ${environmentId} is not one the secret "${target.name}" reaches (another project or user); nothing was stopped`, { retryable: false });
  }
  await connectCall(call, SERVICE, "StopEnvironment", { environmentId });
  const name = environment.metadata?.name;
  return { detail: `stopped Gitpod environment ${name ? `${name} (${environmentId})` : environmentId}; it loads the current secret when it starts again` };
}
