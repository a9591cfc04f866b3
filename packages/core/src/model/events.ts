/**
 * Events pullkeeper puts on the bus (`source: pullkeeper`). Details carry IDs, the secret
 * ARN and the VersionId only: a consumer that needs the value reads it by VersionId.
 */
export const EVENT_SOURCE = "pullkeeper";

export interface CredentialRotated {
  readonly type: "Credential Rotated";
  readonly detail: {
    readonly registryId: string;
    readonly secretArn: string;
    readonly versionId: string;
    /** ISO 8601; absent for credentials that do not expire. */
    readonly expiresAt?: string;
  };
}

export interface DeliveryRequested {
  readonly type: "Delivery Requested";
  readonly detail: { readonly registryId: string; readonly consumerId: string; readonly secretArn: string; readonly versionId: string };
}

/** A delivery gave up: on-call's cue. `code` is the classified reason, never a value. */
export interface DeliveryFailed {
  readonly type: "Delivery Failed";
  readonly detail: {
    readonly registryId: string;
    readonly consumerId: string;
    readonly secretArn: string;
    readonly versionId: string;
    readonly code: string;
    readonly message: string;
    readonly attempts: number;
  };
}

/** An environment became stale, expired or doomed: it holds (or will load) a credential that is not the current one. */
export interface EnvironmentStale {
  readonly type: "Environment Stale";
  readonly detail: {
    readonly registryId: string;
    readonly consumerId: string;
    readonly environmentId: string;
    readonly verdict: "stale" | "expired" | "doomed";
    readonly heldVersionId?: string;
    readonly currentVersionId?: string;
  };
}

/** A superseded credential stopped opening the registry (an htpasswd user retired, a token deleted). */
export interface CredentialRevoked {
  readonly type: "Credential Revoked";
  readonly detail: {
    readonly registryId: string;
    readonly secretArn: string;
    readonly versionId: string;
    /** unused | max-overlap | rotation */
    readonly reason: string;
    /** The version that replaced it. */
    readonly currentVersionId: string;
  };
}

export type PullkeeperEvent = CredentialRotated | DeliveryRequested | DeliveryFailed | EnvironmentStale | CredentialRevoked;
