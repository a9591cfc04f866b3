import type { DeployLocation, IamStatement, PermissionConsumer, TargetPermissions } from "@pullkeeper/core";
import { permissionTarget, unique } from "../shared/permissions.js";
import { secretArnParts, secretsManagerCopyTargetSchema } from "./schema.js";

/** A destination as the copy's IAM sees it: the secret's ARN (a name: `-??????` for the random suffix) and whether it may be created. */
export interface CopyGrant {
  readonly secretArn: string;
  readonly create: boolean;
  readonly roleArn?: string | undefined;
}

/** The secret a destination names, as an IAM resource: an ARN as it is, a name in its region of the deploy account. */
export function destinationArn(secretId: string, region: string, at: DeployLocation): string {
  return secretArnParts(secretId) ? secretId : `arn:${at.partition}:secretsmanager:${region}:${at.account}:secret:${secretId}-??????`;
}

/**
 * The statements a copy needs: PutSecretValue, GetSecretValue and UpdateSecretVersionStage on
 * exactly the destination secrets (CreateSecret only where `createIfMissing`); never `*`. A
 * destination written through `roleArn` needs only sts:AssumeRole here: that role (in the other
 * account) holds the Secrets Manager permissions.
 */
export function copyStatements(grants: readonly CopyGrant[]): IamStatement[] {
  const own = grants.filter((g) => g.roleArn === undefined);
  const write = unique(own.map((g) => g.secretArn));
  const create = unique(own.filter((g) => g.create).map((g) => g.secretArn));
  const roles = unique(grants.flatMap((g) => (g.roleArn === undefined ? [] : [g.roleArn])));
  return [
    ...(write.length > 0 ? [{ actions: ["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:UpdateSecretVersionStage"], resources: write }] : []),
    ...(create.length > 0 ? [{ actions: ["secretsmanager:CreateSecret"], resources: create }] : []),
    ...(roles.length > 0 ? [{ actions: ["sts:AssumeRole"], resources: roles }] : []),
  ];
}

export const secretsManagerCopyPermissions: TargetPermissions = {
  deliver: (consumers: readonly PermissionConsumer[], at: DeployLocation) =>
    copyStatements(
      consumers.map((consumer) => {
        const target = permissionTarget(secretsManagerCopyTargetSchema, consumer);
        const region = target.region ?? secretArnParts(target.secretId)?.region ?? consumer.fallbackRegion;
        return { secretArn: destinationArn(target.secretId, region, at), create: target.createIfMissing, roleArn: target.roleArn };
      }),
    ),
};
