import {
  type Consumer,
  type Credential,
  type DeliveryContext,
  DeliveryError,
  type DeliveryOutcome,
  type DeliveryTarget,
  type DiscoveredEnvironment,
  type EnvironmentDiscovery,
  parseTargetConfig,
  readTargetSecret,
  type Registry,
  type RestartOutcome,
  type TargetFactory,
} from "@pullkeeper/core";
import { type ConnectCallOptions, connectCall } from "./connect.js";
import { discoverGitpodEnvironments, stopGitpodEnvironment } from "./environments.js";
import { type GitpodSecretScope, type GitpodSecretTargetConfig, gitpodSecretTargetSchema } from "./schema.js";

export interface GitpodSecretTargetOptions {
  /** Reads a secret holding {"username","password"}: here the Gitpod token secret (password = the PAT). */
  readonly readCredential: (secretId: string) => Promise<Credential>;
  readonly fetch?: typeof fetch;
  /** Budget for one API call. Default 10 s. */
  readonly timeoutMs?: number;
  /** ListSecrets and ListEnvironments page size. Default 100 (Gitpod's maximum). */
  readonly pageSize?: number;
}

const SERVICE = "gitpod.v1.SecretService";
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_PAGES = 100;

/** One entry of ListSecrets' `secrets`; only the fields this target reads. */
interface ListedSecret {
  readonly id?: string;
  readonly name?: string;
  readonly containerRegistryBasicAuthHost?: string;
  readonly environmentVariable?: boolean;
  readonly filePath?: string;
}

interface ListSecretsResponse {
  readonly secrets?: readonly ListedSecret[];
  readonly pagination?: { readonly nextToken?: string };
}

interface CreateSecretResponse {
  readonly secret?: { readonly id?: string };
}

const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** What Gitpod stores as the registry host: docker's spelling for Docker Hub, else https://<host>. */
export function gitpodRegistryHost(registry: Pick<Registry, "host" | "kind">): string {
  if (registry.kind === "dockerhub" || DOCKER_HUB_HOSTS.has(registry.host.toLowerCase())) return "https://index.docker.io/v1/";
  return `https://${registry.host}`;
}

/** Compares registry hosts written with or without scheme, trailing slash or /v1/ path. */
function sameRegistryHost(a: string, b: string): boolean {
  const norm = (h: string): string => {
    const bare = h.trim().toLowerCase().replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "").replace(/\/v[12]$/, "");
    return DOCKER_HUB_HOSTS.has(bare) ? "docker.io" : bare;
  };
  return norm(a) === norm(b);
}

function describeScope(scope: GitpodSecretScope): string {
  if ("projectId" in scope) return `project ${scope.projectId}`;
  if ("organizationId" in scope) return `organization ${scope.organizationId}`;
  return `user ${scope.userId}`;
}

/**
 * `gitpod-secret`: keeps a Gitpod (Flex) "container registry basic auth" secret current, through
 * the public API's `gitpod.v1.SecretService` (Connect protocol, JSON): find it by name in its
 * scope, create it when missing, else `UpdateSecretValue`. Environments that are already running
 * keep the value they started with until they restart: the audit finds them through
 * `gitpod.v1.EnvironmentService`, and a restart stops one.
 */
export class GitpodSecretTarget implements DeliveryTarget, EnvironmentDiscovery {
  readonly kind = "gitpod-secret";
  readonly schema = gitpodSecretTargetSchema;
  readonly #readCredential: (secretId: string) => Promise<Credential>;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #pageSize: number;

  constructor(options: GitpodSecretTargetOptions) {
    this.#readCredential = options.readCredential;
    // Looked up per call rather than captured, so test doubles installed on globalThis apply.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#pageSize = options.pageSize ?? 100;
  }

  /** One bucket for all of Gitpod: its limits are per account, not per project. */
  provider(_consumer: Consumer): string {
    return "gitpod";
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target = this.#parse(context.consumer);
    const token = await this.#token(target.tokenSecret);
    const { username } = context.credential;
    const password = context.credential.password.reveal();
    if (username.includes(":")) {
      throw new DeliveryError("invalid_credential", `registry ${context.registry.id}: the username contains ":", which a Gitpod basic-auth secret (username:password) cannot hold`, {
        retryable: false,
      });
    }
    const value = `${username}:${password}`;
    const call: ConnectCallOptions = { fetch: this.#fetch, baseUrl: target.apiUrl, token, timeoutMs: this.#timeoutMs, secrets: [value, password, token] };
    const host = target.registryHost ?? gitpodRegistryHost(context.registry);
    const where = `Gitpod secret "${target.name}" (${describeScope(target.scope)}, ${new URL(target.apiUrl).host})`;
    const restartNote = "running Gitpod environments keep the old value until they restart; new environments get the new one";

    let existing = await this.#find(call, target);
    if (existing === undefined) {
      try {
        await context.beforeWrite?.();
        const created = await connectCall<CreateSecretResponse>(call, SERVICE, "CreateSecret", {
          name: target.name,
          // The fixtures (and older API versions) name a project at top level; current ones read `scope`.
          ...("projectId" in target.scope ? { projectId: target.scope.projectId } : {}),
          scope: target.scope,
          value,
          containerRegistryBasicAuthHost: host,
        });
        const id = created.secret?.id;
        return {
          status: "delivered",
          detail: `created ${where}${id ? ` as ${id}` : ""}: container registry basic auth for ${host}, version ${context.versionId}; ${restartNote}`,
        };
      } catch (error) {
        // Someone created it between our list and our create: update that one instead.
        if (!(error instanceof DeliveryError && error.code === "conflict")) throw error;
        existing = await this.#find(call, target);
        if (existing === undefined) throw error;
      }
    }

    this.#checkKind(where, existing, host);
    await context.beforeWrite?.();
    await connectCall(call, SERVICE, "UpdateSecretValue", { secretId: existing.id, value });
    return {
      status: "delivered",
      detail: `updated ${where} (${existing.id}): container registry basic auth for ${host}, version ${context.versionId}; ${restartNote}`,
    };
  }

  async discoverEnvironments(consumer: Consumer): Promise<readonly DiscoveredEnvironment[]> {
    const target = this.#parse(consumer);
    return discoverGitpodEnvironments(await this.#readCall(target), target, this.#pageSize);
  }

  async restartEnvironment(consumer: Consumer, environment: Pick<DiscoveredEnvironment, "externalId" | "kind" | "name">): Promise<RestartOutcome> {
    if (environment.kind !== "gitpod-environment") {
      throw new DeliveryError("invalid_request", `consumer ${consumer.id}: ${environment.kind} ${environment.name} is not a Gitpod environment; nothing was stopped`, { retryable: false });
    }
    const target = this.#parse(consumer);
    return stopGitpodEnvironment(await this.#readCall(target), target, environment.externalId);
  }

  /** Call options for calls that carry no credential value: only the token is secret. */
  async #readCall(target: GitpodSecretTargetConfig): Promise<ConnectCallOptions> {
    const token = await this.#token(target.tokenSecret);
    return { fetch: this.#fetch, baseUrl: target.apiUrl, token, timeoutMs: this.#timeoutMs, secrets: [token] };
  }

  #parse(consumer: Consumer): GitpodSecretTargetConfig {
    return parseTargetConfig(this.schema, consumer);
  }

  async #token(secretId: string): Promise<string> {
    const token = await readTargetSecret(this.#readCredential, secretId, "Gitpod token secret");
    if (token === "") throw new DeliveryError("invalid_credential", `Gitpod token secret ${secretId} has an empty password (expected the personal access token)`, { retryable: false });
    return token;
  }


  /** The secret with this name in the scope, following ListSecrets' pages. */
  async #find(call: ConnectCallOptions, target: GitpodSecretTargetConfig): Promise<(ListedSecret & { id: string }) | undefined> {
    const matches: (ListedSecret & { id: string })[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const response = await connectCall<ListSecretsResponse>(call, SERVICE, "ListSecrets", {
        filter: { scope: target.scope },
        pagination: pageToken === undefined ? { pageSize: this.#pageSize } : { token: pageToken, pageSize: this.#pageSize },
      });
      for (const secret of response.secrets ?? []) {
        if (secret.name === target.name && typeof secret.id === "string" && secret.id !== "") matches.push({ ...secret, id: secret.id });
      }
      const next = response.pagination?.nextToken;
      if (next === undefined || next === "" || next === pageToken) break;
      pageToken = next;
      if (page === MAX_PAGES - 1) {
        throw new DeliveryError("unavailable", `Gitpod ListSecrets returned more than ${MAX_PAGES} pages`, { retryable: true });
      }
    }
    if (matches.length > 1) {
      throw new DeliveryError("conflict", `Gitpod has ${matches.length} secrets named "${target.name}" in ${describeScope(target.scope)} (${matches.map((m) => m.id).join(", ")}); remove all but one`, {
        retryable: false,
      });
    }
    return matches[0];
  }

  /** Refuses to overwrite a secret of the same name that is an environment variable, a file, or for another registry. */
  #checkKind(where: string, existing: ListedSecret & { id: string }, host: string): void {
    const other =
      existing.environmentVariable === true
        ? "an environment variable"
        : existing.filePath
          ? `a file mounted at ${existing.filePath}`
          : existing.containerRegistryBasicAuthHost && !sameRegistryHost(existing.containerRegistryBasicAuthHost, host)
            ? `container registry basic auth for ${existing.containerRegistryBasicAuthHost}`
            : undefined;
    if (other !== undefined) {
      throw new DeliveryError("conflict", `${where} (${existing.id}) is ${other}, not container registry basic auth for ${host}; rename the consumer's secret or remove that one`, {
        retryable: false,
      });
    }
  }
}

/** What the module loads (module.ts). */
const createTarget: TargetFactory = ({ readCredential }) => new GitpodSecretTarget({ readCredential });
export default createTarget;
