import { ECRClient, ValidatePullThroughCacheRuleCommand } from "@aws-sdk/client-ecr";
import type { Consumer, DeliveryContext, DeliveryOutcome, DeliveryTarget, TargetFactory } from "@pullkeeper/core";
import { DeliveryError } from "@pullkeeper/core";
import { clientOptions } from "../../clients.js";
import { awsDeliveryError, awsErrorName } from "../shared/aws-errors.js";
import { parseConsumerTarget, perRegion } from "../shared/common.js";
import { SecretCopier, type SecretCopierOptions } from "../secrets-manager-copy/copy.js";
import type { KeyMapping } from "../secrets-manager-copy/schema.js";
import { defaultSecretsManager, defaultSts, secretsManagerProvider } from "../secrets-manager-copy/secrets-manager-copy-target.js";
import { type EcrPullThroughCacheTargetConfig, ecrPullThroughCacheTargetSchema, pullThroughSecretId } from "./schema.js";

/** The key names ECR reads an upstream registry's credential from (Docker Hub, GitHub, GitLab, Azure, Quay). */
export const PULL_THROUGH_KEYS: KeyMapping = { username: "username", password: "accessToken" };

export interface EcrPullThroughCacheTargetOptions {
  readonly ecr?: (region: string) => ECRClient;
  readonly secretsManager?: SecretCopierOptions["secretsManager"];
  readonly sts?: SecretCopierOptions["sts"];
}

/** ECR's own words, without anything that looks like the value (it never sends it; this is belt and braces). */
function scrub(text: string, context: DeliveryContext): string {
  const password = context.credential.password.reveal();
  return password === "" ? text : text.split(password).join("[redacted]");
}

/**
 * `ecr-pull-through-cache`: keeps the secret an ECR pull-through cache rule reads current, in the
 * key names ECR requires (the Secrets Manager copy implementation, with a fixed mapping), then
 * asks ECR to validate the rule with it (ValidatePullThroughCacheRule): `isValid` makes the
 * delivery verified; a rule that does not validate fails it for good with ECR's `failure`, and a
 * rule that reads another secret fails it naming both.
 */
export class EcrPullThroughCacheTarget implements DeliveryTarget {
  readonly kind = "ecr-pull-through-cache";
  readonly schema = ecrPullThroughCacheTargetSchema;
  readonly #copier: SecretCopier;
  readonly #ecr: (region: string) => ECRClient;

  constructor(options: EcrPullThroughCacheTargetOptions = {}) {
    this.#copier = new SecretCopier({ secretsManager: options.secretsManager ?? defaultSecretsManager(), sts: options.sts ?? defaultSts() });
    this.#ecr = options.ecr ?? perRegion((region) => new ECRClient(clientOptions(region)));
  }

  provider(consumer: Consumer): string {
    const parsed = this.schema.safeParse(consumer.target);
    return secretsManagerProvider(parsed.success ? { secretId: pullThroughSecretId(parsed.data), region: parsed.data.region } : undefined);
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target: EcrPullThroughCacheTargetConfig = parseConsumerTarget(this.schema, context.consumer);
    const secretId = pullThroughSecretId(target);
    const rule = `pull-through cache rule ${target.ecrRepositoryPrefix} (${target.region}${target.registryId === undefined ? "" : `, registry ${target.registryId}`})`;
    const copied = await this.#copier.copy(context, { secretId, region: target.region, keys: PULL_THROUGH_KEYS, createIfMissing: target.createIfMissing }, `${rule}: secret`);

    let out;
    try {
      out = await this.#ecr(target.region).send(
        new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: target.ecrRepositoryPrefix, ...(target.registryId !== undefined && { registryId: target.registryId }) }),
      );
    } catch (error) {
      if (awsErrorName(error) === "PullThroughCacheRuleNotFoundException") {
        throw new DeliveryError("not_found", `${rule}: no such rule (ecr:ValidatePullThroughCacheRule); the secret ${copied.arn} was written`, { retryable: false, cause: error });
      }
      throw awsDeliveryError(error, `${rule}: validating it (ecr:ValidatePullThroughCacheRule)`);
    }
    if (out.credentialArn !== undefined && out.credentialArn !== copied.arn && !copied.arn.startsWith(`${out.credentialArn}-`)) {
      throw new DeliveryError("wiring_secret_reference", `${rule} reads the secret ${out.credentialArn}, not ${copied.arn} that this consumer keeps current; point the rule at it, or set secretId`, {
        retryable: false,
      });
    }
    if (out.isValid !== true) {
      const failure = scrub(out.failure ?? "no reason given", context);
      throw new DeliveryError("verification_failed", `${rule}: ECR could not authenticate to ${out.upstreamRegistryUrl ?? "the upstream registry"} with the secret ${copied.arn}: ${failure}`, {
        retryable: false,
      });
    }
    return { status: "verified", detail: `secret ${copied.arn}: ${copied.detail}; ${rule} validated (isValid) against ${out.upstreamRegistryUrl ?? "its upstream registry"}` };
  }
}

const createTarget: TargetFactory = () => new EcrPullThroughCacheTarget();
export default createTarget;
