import { readConfigFile } from "@pullkeeper/aws/lambda/config-file";
import { createOnSecretChangeHandler } from "@pullkeeper/aws/lambda/handlers/on-secret-change";
import { plannerFromEnvironment } from "@pullkeeper/aws/lambda/planner-runtime";

/** Plans deliveries when a secret changes; the handler itself is in @pullkeeper/aws/lambda/handlers/on-secret-change. */
export * from "@pullkeeper/aws/lambda/handlers/on-secret-change";

export const handler = createOnSecretChangeHandler(async () => ({ config: readConfigFile(), service: await plannerFromEnvironment() }));
