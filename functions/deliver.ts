import { createDeliverHandler, sqsBackoff } from "@pullkeeper/aws/lambda/handlers/deliver";
import { propagationFromEnvironment } from "@pullkeeper/aws/lambda/propagation-runtime";

/** The delivery worker; the handler itself is in @pullkeeper/aws/lambda/handlers/deliver. */
export * from "@pullkeeper/aws/lambda/handlers/deliver";

export const handler = createDeliverHandler(propagationFromEnvironment, sqsBackoff());
