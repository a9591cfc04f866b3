import type { Credential } from "../model/credential.js";
import type { Registry } from "../model/model.js";
import type { VerifyRequest } from "../model/ports.js";

/** What the verifier needs to prove `credential` opens `registry`: its host, and the canary and endpoint the config names. */
export function verifyRequest(registry: Registry, credential: Credential): VerifyRequest {
  return {
    host: registry.host,
    credential,
    ...(registry.verify.endpoint !== undefined && { endpoint: registry.verify.endpoint }),
    ...(registry.verify.canary && { canary: registry.verify.canary }),
  };
}
