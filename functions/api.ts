import { apiFromEnvironment, createApiHandler } from "@pullkeeper/aws/lambda/handlers/api";
import { dashboardAssets } from "@pullkeeper/dashboard";

/** The audit API behind API Gateway; the handler itself is in @pullkeeper/aws/lambda/handlers/api. */
export * from "@pullkeeper/aws/lambda/handlers/api";

export const handler = createApiHandler(() => apiFromEnvironment(dashboardAssets));
