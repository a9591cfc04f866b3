import type { Consumer } from "./consumer.js";
import type { Credential } from "./credential.js";
import type { DeliveryTarget } from "../propagation/delivery.js";
import type { EnvironmentKind } from "../audit/environments.js";

/**
 * What a deployment knows about a target kind without loading its implementation (the SDK,
 * Octokit or Kubernetes client behind it): the stacks grant permissions from it, the planners
 * validate consumers with it, and the delivery worker loads the target through it. Modelled on
 * External Secrets Operator's providers: one folder per kind exports one descriptor, one registry
 * line lists it (packages/aws/src/target-modules.ts), and every list of kinds elsewhere is derived
 * from the registry. Write one with defineTargetModule.
 */
export interface TargetModule {
  readonly kind: string;
  /** The same schema the target validates with; the registry test checks they are one object. */
  readonly schema: DeliveryTarget["schema"];
  /** The rate-limit key its writes count against by default ("github", "aws:codebuild"). */
  readonly provider: string;
  /** The provider's default write budget (writes per second), where it has one; settings.rateLimits overrides it. */
  readonly defaultRateLimit?: number;
  readonly capabilities: {
    /** It lists the environments that loaded the credential (the audit's discovery). */
    readonly discoverEnvironments: boolean;
    /** It can restart one of them on request (`restart: true` on the consumer). */
    readonly restart: boolean;
  };
  /** The kind of environment its discovery reports, where it discovers any. */
  readonly environmentKind?: EnvironmentKind;
  /**
   * The secrets the target reads at send time (tokens, signing keys), from the consumer's raw
   * `target` block: the stacks grant the functions exactly these. Unvalidated input, so a
   * missing or mistyped field yields nothing rather than throwing.
   */
  secretsRead(target: Readonly<Record<string, unknown>>): string[];
  /** The cloud permissions the target's own API calls need (AWS kinds); none for a kind that calls no AWS API. */
  readonly permissions?: TargetPermissions;
  /**
   * The cloud regions a consumer's raw `target` block names (where the undeclared-consumer search
   * looks); unvalidated input, so a block that does not parse names none.
   */
  regionsNamed?(target: Readonly<Record<string, unknown>>): (string | undefined)[];
  /** Loads the implementation (its clients come with it) and returns how to build the target. */
  load(): Promise<TargetFactory>;
  /** Loads this kind's part of the undeclared-consumer search (AWS kinds whose resources reference a secret). */
  loadUndeclaredSearch?(): Promise<UndeclaredResourceSearch>;
}

/** What every target may be built with; each takes what it needs. */
export interface TargetDependencies {
  /** Reads the secrets targets authenticate with (GitHub and Gitpod tokens, webhook keys). */
  readonly readCredential: (secretId: string) => Promise<Credential>;
  /** A registry's secret (ARN or name), so AWS discovery can default to its region. */
  readonly registrySecret?: (registryId: string) => string | undefined;
}

export type TargetFactory = (dependencies: TargetDependencies) => DeliveryTarget;

/** An IAM statement as the stacks grant it. */
export interface IamStatement {
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: IamCondition[];
}

export interface IamCondition {
  readonly test: string;
  readonly variable: string;
  readonly values: string[];
}

/** Where the stack deploys: the account its consumers' resources default to. */
export interface DeployLocation {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** One consumer of the module's kind, as the stacks hand it to the module's permissions. */
export interface PermissionConsumer {
  /** Its index in the config's consumers, for error messages. */
  readonly index: number;
  readonly id: string;
  readonly target: Readonly<Record<string, unknown>>;
  readonly restart?: boolean;
  /** The region a consumer that names none lives in: its registry secret's region, else the deploy region. */
  readonly fallbackRegion: string;
}

/**
 * The IAM a kind's target needs, per function, for all the consumers of that kind at once (each
 * hook is called only with a non-empty list). A statement two kinds both return is granted once.
 * Statements on `*` without conditions are merged into one (actions with no resource-level
 * permission). The secrets of secretsRead are granted by the stacks, not here.
 */
export interface TargetPermissions {
  /** deliver: what a delivery calls. */
  deliver?(consumers: readonly PermissionConsumer[], at: DeployLocation): IamStatement[];
  /** audit-scan: what discovering their environments calls. */
  discover?(consumers: readonly PermissionConsumer[], at: DeployLocation): IamStatement[];
  /** The audit API: what restarting an environment calls, for the consumers with `restart: true`; throws for one that cannot restart as configured. */
  restart?(consumers: readonly PermissionConsumer[], at: DeployLocation): IamStatement[];
  /** audit-scan: the undeclared-consumer search for resources of this kind (with or without consumers). */
  undeclaredSearch?(at: DeployLocation): IamStatement[];
}

/** One secret reference found in one resource, before it is matched against the tracked secrets. */
export interface UndeclaredResourceReference {
  readonly kind: string;
  /** The resource's ARN (a task definition's: its latest ACTIVE revision's). */
  readonly resource: string;
  /** The project's name or the task definition's family. */
  readonly name: string;
  readonly region: string;
  readonly account: string;
  readonly foundIn: string;
  readonly reference: string;
}

/** A kind's part of the undeclared-consumer search (packages/aws/src/consumers/undeclared/finder.ts). */
export interface UndeclaredResourceSearch {
  readonly kind: string;
  /**
   * The resource a declared consumer of this kind names (a name, or an ARN) and the region its
   * delivery resolves (undefined: anywhere); undefined for a consumer of another kind.
   * `fallbackRegion`: its registry secret's region, else the deployment's.
   */
  declared(consumer: Consumer, fallbackRegion: string | undefined): { readonly name: string; readonly region: string | undefined } | undefined;
  /** Every secret reference of this kind's resources in one region; `skip(name)` leaves out declared ones before any call is spent on them. */
  references(region: string, skip: (name: string) => boolean): Promise<UndeclaredResourceReference[]>;
}

export interface TargetModuleSpec {
  readonly kind: string;
  readonly schema: DeliveryTarget["schema"];
  /** Its rate-limit key and that provider's default budget (writes per second), if it has one; default: the kind, no budget. */
  readonly provider?: { readonly name: string; readonly defaultRateLimit?: number };
  /** The environments its discovery reports, and whether it restarts them; default: it discovers none. */
  readonly environments?: { readonly kind: EnvironmentKind; readonly restart?: boolean };
  /** The `target` fields that name a secret the target reads at send time (secretsRead); default none. */
  readonly secretFields?: readonly string[];
  readonly permissions?: TargetPermissions;
  regionsNamed?(target: Readonly<Record<string, unknown>>): (string | undefined)[];
  /**
   * `import()` of the file that exports the factory. Write it `import("../x-target.js" as string)`:
   * esbuild and vitest still see (and bundle) the literal, but tsc does not follow it, so the
   * stacks' program (tsconfig.stacks.json, without Node's types) keeps out the target's clients.
   * The factory is typed where it is written (`const createTarget: TargetFactory = …;
   * export default createTarget`).
   */
  implementation(): Promise<unknown>;
  /** The factory's export name; default the default export. */
  readonly factory?: string;
  /** `import()` (as above) of the file that exports `createUndeclaredSearch(): UndeclaredResourceSearch`. */
  undeclaredSearch?(): Promise<unknown>;
}

/** A descriptor from what is particular to the kind; everything else has a default. */
export function defineTargetModule(spec: TargetModuleSpec): TargetModule {
  const { kind, secretFields = [], undeclaredSearch } = spec;
  return {
    kind,
    schema: spec.schema,
    provider: spec.provider?.name ?? kind,
    ...(spec.provider?.defaultRateLimit !== undefined && { defaultRateLimit: spec.provider.defaultRateLimit }),
    capabilities: { discoverEnvironments: spec.environments !== undefined, restart: spec.environments?.restart ?? false },
    ...(spec.environments && { environmentKind: spec.environments.kind }),
    secretsRead: (target) => secretFields.flatMap((field) => (typeof target[field] === "string" ? [target[field]] : [])),
    ...(spec.permissions && { permissions: spec.permissions }),
    ...(spec.regionsNamed && { regionsNamed: spec.regionsNamed }),
    load: async () => exported<TargetFactory>(await spec.implementation(), spec.factory ?? "default", kind),
    ...(undeclaredSearch && {
      loadUndeclaredSearch: async () => exported<() => UndeclaredResourceSearch>(await undeclaredSearch(), "createUndeclaredSearch", kind)(),
    }),
  };
}

function exported<T>(namespace: unknown, name: string, kind: string): T {
  const value = (namespace as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== "function") throw new Error(`target kind ${kind}: its implementation exports no function ${name}`);
  return value as T;
}
