import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Proof that the server on a port is this state directory's runtime: it knows the admin token. The
 * CLI asks `/healthz?challenge=<random hex>` and sends the token only to a server whose `proof` is
 * the HMAC of that challenge under the token — which answers nothing an impostor could replay.
 */
export const CHALLENGE = /^[0-9a-f]{32,128}$/;

export function healthProof(adminToken: string, challenge: string): string {
  return createHmac("sha256", adminToken).update(`pullkeeper /healthz\n${challenge}`).digest("hex");
}

export function provesToken(proof: unknown, adminToken: string, challenge: string): boolean {
  if (typeof proof !== "string" || !/^[0-9a-f]{64}$/.test(proof)) return false;
  return timingSafeEqual(Buffer.from(proof, "hex"), Buffer.from(healthProof(adminToken, challenge), "hex"));
}
