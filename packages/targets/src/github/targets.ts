import {
  type Consumer,
  type DeliveryContext,
  DeliveryError,
  type DeliveryOutcome,
  type DeliveryTarget,
  type DiscoveredEnvironment,
  type EnvironmentDiscovery,
  parseTargetConfig,
  type RestartOutcome,
  type TargetDependencies,
  type TargetFactory,
} from "@pullkeeper/core";
import type { z } from "zod";
import { GitHubSecretsClient, type GitHubClientOptions, type SecretLocation, type SecretWrite } from "./client.js";
import { discoverCodespaces, stopCodespace } from "./codespaces-environments.js";
import {
  type CodespacesSecretTargetConfig,
  codespacesSecretTargetSchema,
  type DependabotSecretTargetConfig,
  dependabotSecretTargetSchema,
  GITHUB_API_URL,
  type GitHubActionsSecretTargetConfig,
  githubActionsSecretTargetSchema,
  type GitHubSecretScope,
  splitRepository,
} from "./schema.js";

/** Which GitHub feature's secrets: they differ only in the path segment under the scope. */
type SecretFamily = "codespaces" | "actions" | "dependabot";

/** The collection path for a family at a scope, its parameters, and the extra body GitHub requires there. */
export function secretLocation(family: SecretFamily, scope: GitHubSecretScope): SecretLocation {
  switch (scope.scope) {
    case "user": {
      if (family !== "codespaces") throw new Error(`${family} secrets have no user scope`);
      return {
        collection: "/user/codespaces/secrets",
        params: {},
        extraBody: { selected_repository_ids: [...scope.selectedRepositoryIds] },
        description: `user secrets (repositories ${scope.selectedRepositoryIds.join(", ")})`,
      };
    }
    case "repository": {
      const { owner, repo } = splitRepository(scope.repository);
      return { collection: `/repos/{owner}/{repo}/${family}/secrets`, params: { owner, repo }, extraBody: {}, description: `repo ${scope.repository}` };
    }
    case "environment": {
      if (family !== "actions") throw new Error(`${family} secrets have no environment scope`);
      const { owner, repo } = splitRepository(scope.repository);
      return {
        collection: "/repos/{owner}/{repo}/environments/{environment_name}/secrets",
        params: { owner, repo, environment_name: scope.environment },
        extraBody: {},
        description: `repo ${scope.repository} environment ${scope.environment}`,
      };
    }
    case "organization": {
      const selected = scope.visibility === "selected" ? (scope.selectedRepositoryIds ?? []) : undefined;
      return {
        collection: `/orgs/{org}/${family}/secrets`,
        params: { org: scope.organization },
        extraBody: selected === undefined ? { visibility: scope.visibility } : { visibility: scope.visibility, selected_repository_ids: [...selected] },
        description: `org ${scope.organization} (visibility ${scope.visibility}${selected === undefined ? "" : `: repositories ${selected.join(", ")}`})`,
      };
    }
  }
}


/** `github` for github.com, `github:<host>` for GitHub Enterprise Server: each has its own write budget. */
export function githubProvider(baseUrl: string | undefined): string {
  if (baseUrl === undefined) return "github";
  const host = new URL(baseUrl).host;
  return host === new URL(GITHUB_API_URL).host ? "github" : `github:${host}`;
}

interface CommonConfig {
  readonly tokenSecret: string;
  readonly baseUrl?: string | undefined;
}

/** The shared half of the three GitHub targets: parse, name the secrets, seal and write them. */
abstract class GitHubSecretTarget<C extends CommonConfig & GitHubSecretScope & { kind: string }> implements DeliveryTarget {
  abstract readonly kind: string;
  abstract readonly schema: z.ZodType<C>;
  protected abstract readonly family: SecretFamily;
  protected readonly client: GitHubSecretsClient;

  constructor(client: GitHubSecretsClient) {
    this.client = client;
  }

  provider(consumer: Consumer): string {
    const parsed = this.schema.safeParse(consumer.target);
    return githubProvider(parsed.success ? parsed.data.baseUrl : undefined);
  }

  /** The secrets to write, in order, and how to name them in the outcome. */
  protected abstract writes(config: C, context: DeliveryContext): { writes: SecretWrite[]; names: string };
  /** How many secrets one delivery writes: the engine takes that many slots of the GitHub budget at once. */
  protected abstract readonly writeCount: number;

  writesPerDelivery(): number {
    return this.writeCount;
  }
  protected abstract note(config: C): string;

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const config = parseTargetConfig(this.schema, context.consumer) as C;
    const location = secretLocation(this.family, config);
    const { writes, names } = this.writes(config, context);
    await this.client.writeSecrets(config.baseUrl, config.tokenSecret, location, writes, { beforeWrite: context.beforeWrite, pause: context.pause });
    const where = config.baseUrl === undefined ? "" : ` on ${new URL(config.baseUrl).host}`;
    return { status: "delivered", detail: `wrote ${names} in ${location.description}${where}${this.note(config)}` };
  }
}

/**
 * `codespaces-secret`: `<PREFIX>_CONTAINER_REGISTRY_SERVER`, `_USER`, `_PASSWORD`. Codespaces read
 * them when they start, so the audit finds the running ones and a restart stops one.
 */
export class CodespacesSecretTarget extends GitHubSecretTarget<CodespacesSecretTargetConfig> implements EnvironmentDiscovery {
  readonly kind = "codespaces-secret";
  readonly schema = codespacesSecretTargetSchema;
  protected readonly family = "codespaces";
  protected readonly writeCount = 3;

  async discoverEnvironments(consumer: Consumer): Promise<readonly DiscoveredEnvironment[]> {
    return discoverCodespaces(this.client, parseTargetConfig(this.schema, consumer));
  }

  async restartEnvironment(consumer: Consumer, environment: Pick<DiscoveredEnvironment, "externalId" | "kind" | "name">): Promise<RestartOutcome> {
    if (environment.kind !== "codespace") {
      throw new DeliveryError("invalid_request", `consumer ${consumer.id}: ${environment.kind} ${environment.name} is not a codespace; nothing was stopped`, { retryable: false });
    }
    return stopCodespace(this.client, parseTargetConfig(this.schema, consumer), environment.externalId);
  }

  protected writes(config: CodespacesSecretTargetConfig, context: DeliveryContext): { writes: SecretWrite[]; names: string } {
    const p = config.prefix;
    return {
      writes: [
        { name: `${p}_CONTAINER_REGISTRY_SERVER`, value: context.registry.host },
        { name: `${p}_CONTAINER_REGISTRY_USER`, value: context.credential.username },
        { name: `${p}_CONTAINER_REGISTRY_PASSWORD`, value: context.credential.password.reveal() },
      ],
      names: `${p}_CONTAINER_REGISTRY_SERVER/_USER/_PASSWORD`,
    };
  }

  protected note(): string {
    return "; codespaces read them when they start, running ones keep the old values until restarted";
  }
}

function userAndPassword(config: { usernameSecret: string; passwordSecret: string }, context: DeliveryContext): { writes: SecretWrite[]; names: string } {
  return {
    writes: [
      { name: config.usernameSecret, value: context.credential.username },
      { name: config.passwordSecret, value: context.credential.password.reveal() },
    ],
    names: `${config.usernameSecret}/${config.passwordSecret}`,
  };
}

/** `github-actions-secret`: the registry user and password as Actions secrets. */
export class GitHubActionsSecretTarget extends GitHubSecretTarget<GitHubActionsSecretTargetConfig> {
  readonly kind = "github-actions-secret";
  readonly schema = githubActionsSecretTargetSchema;
  protected readonly family = "actions";
  protected readonly writeCount = 2;

  protected writes(config: GitHubActionsSecretTargetConfig, context: DeliveryContext): { writes: SecretWrite[]; names: string } {
    return userAndPassword(config, context);
  }

  protected note(): string {
    return " (Actions secrets; workflow runs read them when a job starts)";
  }
}

/** `dependabot-secret`: the registry user and password as Dependabot secrets. */
export class DependabotSecretTarget extends GitHubSecretTarget<DependabotSecretTargetConfig> {
  readonly kind = "dependabot-secret";
  readonly schema = dependabotSecretTargetSchema;
  protected readonly family = "dependabot";
  protected readonly writeCount = 2;

  protected writes(config: DependabotSecretTargetConfig, context: DeliveryContext): { writes: SecretWrite[]; names: string } {
    return userAndPassword(config, context);
  }

  protected note(): string {
    return " (Dependabot secrets)";
  }
}

export type GitHubTargetsOptions = GitHubClientOptions;

/**
 * The three GitHub targets, sharing one client (Octokit per API root, token cache, public-key
 * cache), with every client option (tests, bench). The delivery worker builds them through the
 * modules' factories below, which share a client the same way.
 */
export function githubTargets(options: GitHubTargetsOptions): [CodespacesSecretTarget, GitHubActionsSecretTarget, DependabotSecretTarget] {
  const client = new GitHubSecretsClient(options);
  return [new CodespacesSecretTarget(client), new GitHubActionsSecretTarget(client), new DependabotSecretTarget(client)];
}

/** The client the three kinds built from one set of dependencies share (as githubTargets' do). */
const clients = new WeakMap<TargetDependencies, GitHubSecretsClient>();

function sharedClient(dependencies: TargetDependencies): GitHubSecretsClient {
  let client = clients.get(dependencies);
  if (!client) clients.set(dependencies, (client = new GitHubSecretsClient({ readCredential: dependencies.readCredential })));
  return client;
}

/** The factories the modules load (module.ts). */
export const createCodespacesSecretTarget: TargetFactory = (dependencies) => new CodespacesSecretTarget(sharedClient(dependencies));
export const createGitHubActionsSecretTarget: TargetFactory = (dependencies) => new GitHubActionsSecretTarget(sharedClient(dependencies));
export const createDependabotSecretTarget: TargetFactory = (dependencies) => new DependabotSecretTarget(sharedClient(dependencies));
