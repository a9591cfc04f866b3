import type { Credential } from "./credential.js";

export const REGISTRY_KINDS = ["ecr", "ecr-public", "dockerhub", "ghcr", "gitlab", "quay", "acr", "generic"] as const;
export type RegistryKind = (typeof REGISTRY_KINDS)[number];

/**
 * A registry's `source`: how its credential comes to be. Each source type's own fields and schema
 * are in its folder (sources/<type>/module.ts); what pullkeeper does with it is the module's
 * capabilities (sourceCapabilities in source-modules.ts), never a test of `type`.
 */
export interface RegistrySource {
  /** The config's `source.type`: the SourceModule that parsed it. */
  readonly type: string;
  readonly [setting: string]: unknown;
}

export interface CanaryImage {
  readonly repository: string;
  readonly reference: string;
}

export interface Registry {
  readonly id: string;
  /** host[:port] as it appears in image references and docker config `auths`. */
  readonly host: string;
  readonly kind: RegistryKind;
  readonly source: RegistrySource;
  /** Secrets Manager secret (ARN or name) that holds the current {username,password}. */
  readonly secret: string;
  /** When a superseded credential is revoked (sources that can revoke one); the config always sets it, see revokePolicy(). */
  readonly revoke?: RevokePolicy;
  readonly verify: {
    readonly canary?: CanaryImage;
    /**
     * Where to run the check, when not https://<host>: a VPC endpoint, a mirror, a registry on
     * a private network or loopback (http allowed).
     */
    readonly endpoint?: string;
  };
}

export interface RevokePolicy {
  /** The maximum overlap: past this long after it stopped being current, the previous credential is revoked whatever still holds it. */
  readonly afterSeconds: number;
  /** A rotation due while the previous credential is still held: wait, or revoke it first. */
  readonly whenInUse: "wait" | "revoke";
}

/** A day's overlap and "wait": what the config gives a registry that says nothing. */
export function revokePolicy(registry: Pick<Registry, "revoke">): RevokePolicy {
  return registry.revoke ?? { afterSeconds: 24 * 3600, whenInUse: "wait" };
}

export type VerificationStatus = "ok" | "unauthorized" | "expired" | "unreachable";

export interface Verification {
  readonly status: VerificationStatus;
  /** Why, in words fit for a log line: HTTP status, challenge scheme, never the credential. */
  readonly detail: string;
  readonly checkedAt: Date;
}

/** One version of a registry's credential, as the ledger knows it: everything but the value. */
export interface CredentialVersion {
  readonly registryId: string;
  readonly secretArn: string;
  readonly versionId: string;
  /** Keyed HMAC of the value: tells versions apart without being reversible. */
  readonly fingerprint: string;
  readonly createdAt: Date;
  readonly expiresAt?: Date;
  readonly verification: Verification;
  /** When it became AWSCURRENT (absent on records written before the lifecycle was kept). */
  readonly promotedAt?: Date;
  /** When a newer version took its place: the overlap with its successor starts here. */
  readonly supersededAt?: Date;
  /** When it stopped opening the registry, and why; absent while it still works. */
  readonly revoked?: Revocation;
}

/** Why a superseded credential was revoked. */
export type RevocationReason =
  /** Every consumer holds the successor and the audit found nothing running on it. */
  | "unused"
  /** The registry's maximum overlap passed, whatever still held it. */
  | "max-overlap"
  /** A rotation needed its slot and the registry's policy says revoke first. */
  | "rotation";

export interface Revocation {
  readonly at: Date;
  readonly reason: RevocationReason;
  /** For people: what was checked. Never the value. */
  readonly detail: string;
}

/** A freshly minted token and when it stops working. */
export interface MintedToken {
  readonly credential: Credential;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /** The registry endpoint the token was minted for, e.g. https://123.dkr.ecr.eu-west-1.amazonaws.com */
  readonly proxyEndpoint?: string;
}

/** Who mints: one GetAuthorizationToken call serves every registry with the same scope. */
export interface TokenScope {
  readonly kind: "ecr" | "ecr-public";
  readonly account: string;
  readonly region: string;
  readonly roleArn?: string;
  readonly externalId?: string;
}

export function tokenScopeKey(scope: TokenScope): string {
  return [scope.kind, scope.account, scope.region, scope.roleArn ?? "", scope.externalId ?? ""].join("|");
}
