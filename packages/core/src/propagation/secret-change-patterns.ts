import { EVENT_SOURCE } from "../model/events.js";

/**
 * Which EventBridge events may mean a secret's current value changed: the event names and the
 * rules the propagation stack creates for them. parseSecretChange (secret-change.ts) reads the
 * events these rules deliver.
 */

export const SECRETS_MANAGER_SOURCE = "aws.secretsmanager";

export const SECRET_CHANGE_DETAIL_TYPES = {
  apiCall: "AWS API Call via CloudTrail",
  serviceEvent: "AWS Service Event via CloudTrail",
  labelUpdated: "Secret Label Updated",
  credentialRotated: "Credential Rotated",
} as const;

/** The Secrets Manager API calls that may move a secret's AWSCURRENT value. */
export const SECRET_CHANGE_EVENT_NAMES = ["PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "RotateSecret", "RestoreSecret"] as const;
export type SecretChangeEventName = (typeof SECRET_CHANGE_EVENT_NAMES)[number];

/** The rotation service event that means AWSCURRENT moved (RotationFailed etc. mean it did not). */
export const ROTATION_SUCCEEDED = "RotationSucceeded";

/** An EventBridge event pattern, as the rule's `eventPattern` JSON wants it. */
export interface EventPattern {
  readonly [field: string]: readonly (string | { readonly exists: boolean })[] | EventPattern;
}

/**
 * The EventBridge rules the propagation stack creates, shared with the parser so both use one
 * list. The stack may narrow them further (to the secrets the ledger tracks); the parser does not
 * rely on any of these filters and re-checks everything (failed calls, labels) itself.
 */
export const SECRET_CHANGE_PATTERNS = {
  /** Successful API calls that may move AWSCURRENT (a failed call, with errorCode, changed nothing). */
  apiCalls: {
    source: [SECRETS_MANAGER_SOURCE],
    "detail-type": [SECRET_CHANGE_DETAIL_TYPES.apiCall],
    detail: { eventName: [...SECRET_CHANGE_EVENT_NAMES], errorCode: [{ exists: false }] },
  },
  /** A rotation finished: AWSCURRENT moved to the new version. */
  rotationSucceeded: {
    source: [SECRETS_MANAGER_SOURCE],
    "detail-type": [SECRET_CHANGE_DETAIL_TYPES.serviceEvent],
    detail: { eventName: [ROTATION_SUCCEEDED] },
  },
  /** The native event naming the version that now holds AWSCURRENT. */
  labelUpdated: {
    source: [SECRETS_MANAGER_SOURCE],
    "detail-type": [SECRET_CHANGE_DETAIL_TYPES.labelUpdated],
    detail: { labelUpdated: ["AWSCURRENT"] },
  },
  /** Our own refresh / rotation flows. */
  credentialRotated: {
    source: [EVENT_SOURCE],
    "detail-type": [SECRET_CHANGE_DETAIL_TYPES.credentialRotated],
  },
} as const satisfies Record<string, EventPattern>;
