import type { DeployLocation, IamStatement, PermissionConsumer, TargetPermissions } from "@pullkeeper/core";
import { permissionTarget, unique } from "../shared/permissions.js";
import { copyStatements, destinationArn } from "../secrets-manager-copy/permissions.js";
import { secretArnParts } from "../secrets-manager-copy/schema.js";
import { ecrPullThroughCacheTargetSchema, pullThroughSecretId } from "./schema.js";

/**
 * deliver: the copy's statements on exactly each rule's secret (PutSecretValue, GetSecretValue,
 * UpdateSecretVersionStage; CreateSecret where `createIfMissing`), and
 * ecr:ValidatePullThroughCacheRule on each rule's registry. pullkeeper writes the secret with its
 * own role, so a rule (and so its secret) must be in the deploy account: a `registryId` of another
 * account fails the deploy, saying why.
 */
export const ecrPullThroughCachePermissions: TargetPermissions = {
  deliver: (consumers: readonly PermissionConsumer[], at: DeployLocation): IamStatement[] => {
    const grants = [];
    const registries: string[] = [];
    for (const consumer of consumers) {
      const target = permissionTarget(ecrPullThroughCacheTargetSchema, consumer);
      const account = target.registryId ?? at.account;
      const secretId = pullThroughSecretId(target);
      const secretAccount = secretArnParts(secretId)?.account ?? at.account;
      if (account !== at.account || secretAccount !== at.account) {
        throw new Error(
          `consumers[${consumer.index}] (${consumer.id}): the pull-through cache rule's secret must be in the rule's account and region (ECR reads it nowhere else), ` +
            `and pullkeeper writes it with its own role in account ${at.account}; the rule is in account ${account} and the secret in ${secretAccount}. ` +
            `Deploy pullkeeper in that account, or keep a copy there with a secrets-manager copy target and a roleArn`,
        );
      }
      grants.push({ secretArn: destinationArn(secretId, target.region, at), create: target.createIfMissing });
      registries.push(`arn:${at.partition}:ecr:${target.region}:${account}:registry/${account}`);
    }
    return [...copyStatements(grants), { actions: ["ecr:ValidatePullThroughCacheRule"], resources: unique(registries) }];
  },
};
