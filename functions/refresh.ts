// The handler module itself, not the @pullkeeper/aws/lambda index: that reaches the delivery targets' clients.
import { createRefreshHandler, runtimeFromEnvironment } from "@pullkeeper/aws/lambda/handlers/refresh";

/** Scheduled refresh of minted tokens; the handler itself is in @pullkeeper/aws/lambda/handlers/refresh. */
export * from "@pullkeeper/aws/lambda/handlers/refresh";

export const handler = createRefreshHandler(runtimeFromEnvironment);
