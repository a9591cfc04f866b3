import type { z } from "zod";
import type { Registry, RegistryKind, RegistrySource } from "./model.js";

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
  refresh?(registries: readonly Registry[]): SourcePermission[];
  /** The rotation and revoke functions', for a source that rotates (htpasswd: mounting and writing its file on EFS). */
  rotation?(registries: readonly Registry[]): SourcePermission[];
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
 * It holds no runtime (no loader of the client that mints or rotates): core cannot import the
 * packages those live in, so the functions pick theirs by capability (docs/adding-a-source.md).
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
}
