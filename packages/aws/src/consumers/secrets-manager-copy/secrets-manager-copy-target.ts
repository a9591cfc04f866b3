import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@aws-sdk/types";
import type { Consumer, DeliveryContext, DeliveryOutcome, DeliveryTarget, TargetFactory } from "@pullkeeper/core";
import { clientOptions } from "../../clients.js";
import { ambientRegion, parseConsumerTarget, perRegion } from "../shared/common.js";
import { SecretCopier, type SecretCopierOptions } from "./copy.js";
import { type SecretsManagerCopyTargetConfig, secretArnParts, secretsManagerCopyTargetSchema } from "./schema.js";

export interface SecretsManagerCopyTargetOptions {
  /** Client factories (tests swap them); defaults build real clients per region (and per assumed role's credentials). */
  readonly secretsManager?: SecretCopierOptions["secretsManager"];
  readonly sts?: SecretCopierOptions["sts"];
}

/** The default Secrets Manager factory: one client per region for pullkeeper's own role; a fresh one for an assumed role's credentials. */
export function defaultSecretsManager(): SecretCopierOptions["secretsManager"] {
  const own = perRegion((region) => new SecretsManagerClient(clientOptions(region)));
  return (region: string, credentials?: AwsCredentialIdentity) => (credentials === undefined ? own(region) : new SecretsManagerClient({ ...clientOptions(region), credentials }));
}

export const defaultSts = (): SecretCopierOptions["sts"] => perRegion((region) => new STSClient(clientOptions(region)));

/** The rate-limit bucket of a Secrets Manager write: `aws:secretsmanager:<region>` (the secret's, else the deployment's). */
export function secretsManagerProvider(target: { secretId: string; region?: string | undefined } | undefined): string {
  const region = target === undefined ? undefined : (target.region ?? secretArnParts(target.secretId)?.region);
  return `aws:secretsmanager:${region ?? ambientRegion()}`;
}

/**
 * `secrets-manager-copy`: keeps another Secrets Manager secret (another name, region, or account
 * through `roleArn`) holding the registry's credential as JSON under the mapped keys; written
 * idempotently per (consumer, version) and read back.
 */
export class SecretsManagerCopyTarget implements DeliveryTarget {
  readonly kind = "secrets-manager-copy";
  readonly schema = secretsManagerCopyTargetSchema;
  readonly #copier: SecretCopier;

  constructor(options: SecretsManagerCopyTargetOptions = {}) {
    this.#copier = new SecretCopier({ secretsManager: options.secretsManager ?? defaultSecretsManager(), sts: options.sts ?? defaultSts() });
  }

  provider(consumer: Consumer): string {
    const parsed = this.schema.safeParse(consumer.target);
    return secretsManagerProvider(parsed.success ? parsed.data : undefined);
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target: SecretsManagerCopyTargetConfig = parseConsumerTarget(this.schema, context.consumer);
    const result = await this.#copier.copy(context, target, "secret");
    return { status: "verified", detail: `secret ${result.arn}${target.roleArn === undefined ? "" : ` (as ${target.roleArn})`}: ${result.detail}` };
  }
}

const createTarget: TargetFactory = () => new SecretsManagerCopyTarget();
export default createTarget;
