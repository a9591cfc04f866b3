import { credential } from "../../model/credential.js";
import { UpstreamError } from "../../model/errors.js";
import type { Registry } from "../../model/model.js";
import type { SourceRuntime } from "../../model/source-module.js";
import { GoogleFederation } from "./api.js";
import type { GarTokenSource } from "./source.js";

/** The username Google's registries take with an OAuth access token as the password. */
export const GOOGLE_TOKEN_LOGIN = "oauth2accesstoken";

/**
 * The gar-token source's runtime: a minter only. Its tokens expire within the hour and Google
 * revokes nothing a registry would notice in time, so there is no revoker.
 */
const runtime: SourceRuntime = {
  minter: (registry: Registry, ports) => {
    const source = registry.source as GarTokenSource;
    const { serviceAccount, workloadIdentityProvider, lifetime, api } = source;
    return {
      // One exchange serves every registry that impersonates the same account the same way.
      scope: JSON.stringify([serviceAccount, workloadIdentityProvider, lifetime, api.sts, api.iamCredentials]),
      mint: async () => {
        const issuedAt = ports.clock.now();
        let subjectToken: string;
        try {
          subjectToken = await ports.awsCallerIdentity(workloadIdentityProvider);
        } catch (error) {
          // No credentials or region to sign with: the function's environment, not Google.
          throw new UpstreamError("aws_identity_unavailable", `could not sign the AWS identity for Google's federation: ${error instanceof Error ? error.message : String(error)}`, false);
        }
        const google = new GoogleFederation(source, ports.http, () => ports.clock.now().getTime());
        const federated = await google.exchange(subjectToken);
        const token = await google.generate(federated);
        return { credential: credential(GOOGLE_TOKEN_LOGIN, token.accessToken), issuedAt, expiresAt: token.expiresAt };
      },
    };
  },
};
export default runtime;
