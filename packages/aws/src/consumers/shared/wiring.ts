import { DeliveryError } from "@pullkeeper/core";

/**
 * Stable codes for a consumer whose wiring is wrong. None is retryable: the consumer's
 * configuration (or its role) must change first.
 */
export const WiringCode = {
  /** The project / container does not reference the registry's secret (or by name from another region or account). */
  secretReference: "wiring_secret_reference",
  /** CodeBuild: registryCredential.credentialProvider is not SECRETS_MANAGER. */
  credentialProvider: "wiring_credential_provider",
  /** CodeBuild: imagePullCredentialsType is not SERVICE_ROLE. */
  pullCredentialsType: "wiring_pull_credentials_type",
  /** The registry is ECR, or the image is on ECR: pulled through IAM, a secret is never used. */
  ecrImage: "wiring_ecr_image",
  /** CodeBuild: the project's image is not on the registry's host. */
  imageHost: "wiring_image_host",
  /** ECS: no container of the task definition pulls from the registry's host. */
  noContainer: "wiring_no_container",
  /** ECS: the task definition has no execution role, or it does not exist. */
  noExecutionRole: "wiring_no_execution_role",
  /** CodeBuild: the project's service role does not exist. */
  noServiceRole: "wiring_no_service_role",
  /** The role may not secretsmanager:GetSecretValue on the secret. */
  roleCannotRead: "wiring_role_cannot_read",
  /** The role may not kms:Decrypt with the secret's customer-managed key. */
  roleCannotDecrypt: "wiring_role_cannot_decrypt",
} as const;
export type WiringCode = (typeof WiringCode)[keyof typeof WiringCode];

export interface WiringFault {
  readonly code: WiringCode;
  /** For people: what is wrong and what would be right. Never a credential value. */
  readonly message: string;
  /** pullkeeper can set this right itself when the consumer opts in (fixWiring). */
  readonly fixable?: boolean;
}

/**
 * A consumer whose wiring is broken: every fault found, not only the first. `code` is the first
 * fault's, so the ledger and on-call see the most basic problem.
 */
export class WiringError extends DeliveryError {
  readonly faults: readonly WiringFault[];

  constructor(subject: string, faults: readonly WiringFault[], hint?: string) {
    const first = faults[0];
    if (first === undefined) throw new TypeError("WiringError needs at least one fault");
    const list = faults.length === 1 ? first.message : faults.map((f, i) => `(${i + 1}) [${f.code}] ${f.message}`).join("; ");
    super(first.code, `${subject}: ${list}${hint === undefined ? "" : `. ${hint}`}`, { retryable: false });
    this.faults = faults;
  }
}
