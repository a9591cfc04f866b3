import type { z } from "zod";
import type { MintedToken, Registry, RegistryKind, RegistrySource } from "./model.js";
import type { Credential } from "./credential.js";
import type { Clock, CredentialIssuer, CredentialRevoker, PasswordGenerator, RegistryAccounts, TokenSource } from "./ports.js";
import type { ProviderHttp } from "./provider-api.js";

/**
 * What pullkeeper does with a source's credential, declared by the source, never guessed from its
 * type or its fields. The services, the API, the CLI and the stacks branch on these.
 */
export interface SourceCapabilities {
  /** The refresh function mints a new credential before the current one expires (ECR tokens). */
  readonly mints: boolean;
  /** pullkeeper creates the next credential, proves it and revokes the old one once unused (htpasswd). */
  readonly rotates: boolean;
  /** Someone else writes the secret: pullkeeper only carries it to the consumers. */
  readonly managedElsewhere: boolean;
  /** The credential has an expiry of its own (recorded with each version). */
  readonly expires: boolean;
}

/** One IAM statement, as the stacks grant it. */
export interface SourcePermission {
  readonly actions: string[];
  readonly resources: string[];
}

/**
 * The IAM a source's registries need beyond what every registry gets (its secret, the ledger, the
 * bus), by the function that needs it, from the registries of this source as the config has them.
 */
export interface SourceAwsPermissions {
  /** The refresh function's, for a source that mints (e.g. ecr:GetAuthorizationToken, sts:AssumeRole). */
  refresh?(registries: readonly Registry[], context: SourcePermissionContext): SourcePermission[];
  /** The rotation and revoke functions', for a source that rotates (htpasswd: mounting and writing its file on EFS; a provider's admin secret). */
  rotation?(registries: readonly Registry[], context: SourcePermissionContext): SourcePermission[];
}

/** What the stacks know that a source's permissions need. */
export interface SourcePermissionContext {
  /** A secret's ARN from its name or ARN, in the deploy's account and region (a name's ARN ends in `-??????`). */
  secretArn(secret: string): string;
}

/**
 * What every source's runtime is built over, the same for all of them: the wiring passes its
 * adapters (packages/aws/src/lambda/wiring.ts), so a source's code does no I/O of its own.
 */
export interface SourcePorts {
  /** The logins a self-hosted registry reads from a file pullkeeper writes (an htpasswd file at `file`). */
  readonly accounts: (file: string) => RegistryAccounts;
  readonly passwords: PasswordGenerator;
  /** The provider's management API (Docker Hub, GitLab, JFrog…), through the shared limiter. */
  readonly http: ProviderHttp;
  /** The admin login a source names (`source.admin`, a vault secret): its current value. */
  readonly adminCredential: (secretId: string) => Promise<Credential>;
  readonly clock: Clock;
}

/** What a minting source's runtime is built over: the cloud's token API (ECR's GetAuthorizationToken), a provider's API, the function's own AWS identity. */
export interface MintPorts {
  readonly tokens: TokenSource;
  /** A provider's token API (Google's STS and IAM Credentials), through the shared limiter where there is one. */
  readonly http: ProviderHttp;
  /**
   * The function's own AWS identity, proven to a third party: a SigV4-signed STS GetCallerIdentity
   * request (not sent), serialized as JSON and URL-encoded, with `targetResource` signed into it as
   * `x-goog-cloud-target-resource` (Google's workload identity federation's subject token).
   */
  awsCallerIdentity(targetResource: string): Promise<string>;
  readonly clock: Clock;
}

/** Who mints a registry's token and how: registries whose minters name the same `scope` share one mint per run. */
export interface TokenMinter {
  /** Equal for registries one minted token serves (ECR: kind, account, region, role). */
  readonly scope: string;
  mint(): Promise<MintedToken>;
}

/**
 * The code that makes and revokes a source's credentials, loaded (`SourceModule.load`) only where a
 * registry of the type is rotated or revoked, so a function that never rotates it never imports it.
 */
export interface SourceRuntime {
  /** createSecret/setSecret's side, for a source that `rotates`. */
  issuer?(registry: Registry, ports: SourcePorts): CredentialIssuer;
  /** How a superseded credential stops opening the registry; none where old credentials expire by themselves. */
  revoker?(registry: Registry, ports: SourcePorts): CredentialRevoker;
  /** The refresh function's side, for a source that `mints`. */
  minter?(registry: Registry, ports: MintPorts): TokenMinter;
}

/** A registry entry as the config schema parsed it, for checks across its fields. */
export interface ParsedRegistryEntry<Source> {
  readonly kind: RegistryKind;
  readonly host: string;
  readonly source: Source;
}

/** Reports a problem at `path` within the registry entry (["host"], ["source", "region"]). */
export type SourceIssue = (path: readonly (string | number)[], message: string) => void;

/** The schema of one source's `source` block: an object whose `type` is the source's own literal. */
export type SourceSchema = z.ZodType<{ type: string }>;

/**
 * What pullkeeper knows about a source type (how a registry's credential comes to be: minted,
 * rotated, managed elsewhere) without any I/O: the config validates `source` with its schema,
 * the services and the API branch on its capabilities, the stacks grant its permissions. One
 * folder per source exports one (packages/core/src/sources/<type>/module.ts) and one line
 * registers it (packages/core/src/source-modules.ts); docs/adding-a-source.md has the steps.
 * Its runtime (`load`) is written over `SourcePorts`, so it stays in the folder too.
 */
export interface SourceModule<Schema extends SourceSchema = SourceSchema> {
  /** The config's `source.type`. */
  readonly type: string;
  /** The schema of the `source` block (with `type: z.literal(<type>)`); the config's union is built from these. */
  readonly schema: Schema;
  readonly capabilities: SourceCapabilities;
  /**
   * The source as the Registry model carries it, from what the schema parsed (defaults applied).
   * Without it, the parsed block as it is, its unset optional keys left out.
   */
  toSource?(parsed: z.output<Schema>): RegistrySource;
  /** Checks across the registry entry (its kind and host against the source), reported with their paths. */
  checkRegistry?(registry: ParsedRegistryEntry<z.output<Schema>>, issue: SourceIssue): void;
  readonly awsPermissions?: SourceAwsPermissions;
  /**
   * `import()` of the folder's runtime file (its default export is the `SourceRuntime`), for a
   * source that issues or revokes credentials; none for one that only carries (managed-secret).
   */
  load?(): Promise<{ readonly default: SourceRuntime }>;
}
