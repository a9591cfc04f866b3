import { createRevokeHandler, revokeRuntimesFromEnvironment } from "@pullkeeper/aws/lambda/handlers/revoke";

/** Revocation on schedule, rollback on demand; the handler itself is in @pullkeeper/aws/lambda/handlers/revoke. */
export * from "@pullkeeper/aws/lambda/handlers/revoke";

export const handler = createRevokeHandler(...revokeRuntimesFromEnvironment());
