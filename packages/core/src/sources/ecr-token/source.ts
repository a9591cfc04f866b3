import type { RegistrySource } from "../../model/model.js";

/** How an ECR token is minted: which principal, in which account and region. */
export interface EcrTokenSource extends RegistrySource {
  readonly type: "ecr-token";
  readonly account: string;
  readonly region: string;
  /** Role to assume first: another account, or a pull-only role the token then acts as. */
  readonly roleArn?: string;
  readonly externalId?: string;
  /** Refresh this long before expiry; default half the token's lifetime. */
  readonly marginSeconds?: number;
}
