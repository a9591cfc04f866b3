import type { RegistrySource } from "../../model/model.js";

/**
 * Google Artifact Registry (and Container Registry) access tokens, minted by the refresh function
 * without any Google key: the function's own AWS identity is exchanged through a workload identity
 * pool for a federated token (Google STS), which then impersonates `serviceAccount` (IAM
 * Credentials generateAccessToken). Consumers log in as `oauth2accesstoken` with the token.
 */
export interface GarTokenSource extends RegistrySource {
  readonly type: "gar-token";
  /** The service account whose access token the registry gets (it needs roles/artifactregistry.reader). */
  readonly serviceAccount: string;
  /** The pool's AWS provider, as STS's audience: //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>. */
  readonly workloadIdentityProvider: string;
  /** How long a token lives, in seconds (at most one hour). */
  readonly lifetime: number;
  /** Refresh this long before expiry; default half the token's lifetime. */
  readonly marginSeconds?: number;
  /** The APIs' base URLs. */
  readonly api: { readonly sts: string; readonly iamCredentials: string };
}
