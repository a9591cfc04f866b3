export type { EcrTokenSource } from "./source.js";
import * as z from "zod";
import { duration } from "../../config/config-fields.js";
import type { Registry } from "../../model/model.js";
import type { EcrTokenSource } from "./source.js";
import type { SourceModule, SourcePermission } from "../../model/source-module.js";
import { awsRegion } from "../../config/suggest.js";

const ACCOUNT_ID = /^\d{12}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

const ecrTokenSchema = z.strictObject({
  type: z.literal("ecr-token"),
  account: z.string().regex(ACCOUNT_ID, "expected a 12-digit AWS account ID"),
  region: awsRegion,
  roleArn: z.string().regex(ROLE_ARN, "expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)").optional(),
  externalId: z.string().min(2).max(1224).optional(),
  margin: duration.optional(),
});

const unique = (values: Iterable<string>): string[] => [...new Set(values)];

/**
 * ECR and ECR Public tokens, minted by the refresh function with GetAuthorizationToken (12 h), as
 * the function's own role or an assumed one (`roleArn`).
 */
export const ecrTokenModule: SourceModule<typeof ecrTokenSchema> = {
  type: "ecr-token",
  schema: ecrTokenSchema,
  capabilities: { mints: true, rotates: false, managedElsewhere: false, expires: true },
  load: () => import("./runtime.js"),
  toSource: (s): EcrTokenSource => ({
    type: s.type,
    account: s.account,
    region: s.region,
    ...(s.roleArn !== undefined && { roleArn: s.roleArn }),
    ...(s.externalId !== undefined && { externalId: s.externalId }),
    ...(s.margin !== undefined && { marginSeconds: s.margin }),
  }),
  checkRegistry({ kind, host, source }, issue) {
    if (kind !== "ecr" && kind !== "ecr-public") issue(["source", "type"], `"${source.type}" mints tokens for kind "ecr" or "ecr-public", not "${kind}"`);
    if (kind === "ecr") {
      const match = ECR_HOST.exec(host);
      if (!match) issue(["host"], "expected an ECR host <account>.dkr.ecr.<region>.amazonaws.com");
      else if (match[1] !== source.account || match[2] !== source.region) issue(["host"], `host names account ${match[1]} in ${match[2]}, but source says ${source.account} in ${source.region}`);
    }
    if (kind === "ecr-public" && source.region !== "us-east-1") issue(["source", "region"], "ECR Public issues tokens only in us-east-1");
  },
  awsPermissions: {
    /**
     * `sts:AssumeRole` on exactly the roles the sources name; the token calls only when some token
     * is minted with the function's own role (with `roleArn` the assumed role's credentials mint
     * it). These APIs have no resource-level permissions, so their resource is `*`.
     */
    refresh(registries: readonly Registry[]): SourcePermission[] {
      const minted = registries.map((registry) => ({ registry, source: registry.source as EcrTokenSource }));
      const ownRole = minted.filter((m) => m.source.roleArn === undefined);
      const roles = unique(minted.flatMap((m) => (m.source.roleArn === undefined ? [] : [m.source.roleArn])));
      return [
        ...(roles.length > 0 ? [{ actions: ["sts:AssumeRole"], resources: roles }] : []),
        ...(ownRole.some((m) => m.registry.kind === "ecr") ? [{ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }] : []),
        ...(ownRole.some((m) => m.registry.kind === "ecr-public") ? [{ actions: ["ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken"], resources: ["*"] }] : []),
      ];
    },
  },
};
