// The handler module itself, not the @pullkeeper/aws/lambda index: that reaches the delivery targets' clients.
import { createRotateHandler, runtimeFromEnvironment } from "@pullkeeper/aws/lambda/handlers/rotate";

/** The Secrets Manager rotation function; the handler itself is in @pullkeeper/aws/lambda/handlers/rotate. */
export * from "@pullkeeper/aws/lambda/handlers/rotate";

export const handler = createRotateHandler(runtimeFromEnvironment);
