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

export type PullkeeperEvent = CredentialRotated;
