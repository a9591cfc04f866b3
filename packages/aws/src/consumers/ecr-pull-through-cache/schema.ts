import * as z from "zod";
import { awsRegionSchema } from "../shared/common.js";
import { checkDestination, secretArnParts, secretIdSchema } from "../secrets-manager-copy/schema.js";

/** ECR reads a pull-through cache rule's upstream credential only from a secret whose name starts with this. */
export const PULL_THROUGH_PREFIX = "ecr-pullthroughcache/";
/** CreatePullThroughCacheRule's ecrRepositoryPrefix (2–30 characters), or ROOT. */
const REPOSITORY_PREFIX = /^(?:ROOT|(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)$/;

/** The secret a rule's consumer keeps: `secretId`, else `ecr-pullthroughcache/<ecrRepositoryPrefix>`. */
export function pullThroughSecretId(target: { secretId?: string | undefined; ecrRepositoryPrefix: string }): string {
  return target.secretId ?? `${PULL_THROUGH_PREFIX}${target.ecrRepositoryPrefix}`;
}

/**
 * A consumer of kind `ecr-pull-through-cache`: the Secrets Manager secret an ECR pull-through
 * cache rule reads its upstream credential from, kept current in the key names ECR requires
 * (`username`, `accessToken`), then the rule validated (ValidatePullThroughCacheRule). ECR reads
 * that secret only in the rule's own account and region, and only under `ecr-pullthroughcache/`.
 */
export const ecrPullThroughCacheTargetSchema = z
  .strictObject({
    kind: z.literal("ecr-pull-through-cache"),
    /** The rule's repository prefix, as in CreatePullThroughCacheRule. */
    ecrRepositoryPrefix: z.string().min(2).max(30).regex(REPOSITORY_PREFIX, "expected an ECR repository prefix (lowercase letters, digits, . _ - and /; 2–30 characters) or ROOT"),
    /** The rule's region: the secret lives there too. */
    region: awsRegionSchema,
    /** The secret's name or ARN; default `ecr-pullthroughcache/<ecrRepositoryPrefix>`. */
    secretId: secretIdSchema.optional(),
    /** The rule's registry (account ID); default the deploy account. */
    registryId: z.string().regex(/^\d{12}$/, "expected a 12-digit AWS account ID").optional(),
    /** Create the secret (by name) when it does not exist; default false. */
    createIfMissing: z.boolean().default(false),
  })
  .superRefine((t, ctx) => {
    const secretId = pullThroughSecretId(t);
    checkDestination({ secretId, region: t.region, createIfMissing: t.createIfMissing }, ctx);
    const arn = secretArnParts(secretId);
    const name = arn?.name ?? secretId;
    if (!name.startsWith(PULL_THROUGH_PREFIX)) {
      ctx.addIssue({ code: "custom", path: ["secretId"], message: `ECR reads a pull-through cache rule's credential only from a secret whose name starts with ${PULL_THROUGH_PREFIX}; "${name}" does not` });
    }
    if (arn !== undefined && t.registryId !== undefined && arn.account !== t.registryId) {
      ctx.addIssue({
        code: "custom",
        path: ["secretId"],
        message: `the secret is in account ${arn.account}, but the rule is in registry ${t.registryId}: ECR reads a pull-through cache rule's secret only in the rule's own account`,
      });
    }
  });

export type EcrPullThroughCacheTargetConfig = z.output<typeof ecrPullThroughCacheTargetSchema>;
