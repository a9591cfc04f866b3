import { createReconcileHandler } from "@pullkeeper/aws/lambda/handlers/reconcile";
import { plannerFromEnvironment } from "@pullkeeper/aws/lambda/planner-runtime";

/** Scheduled reconcile; the handler itself is in @pullkeeper/aws/lambda/handlers/reconcile. */
export * from "@pullkeeper/aws/lambda/handlers/reconcile";

export const handler = createReconcileHandler(plannerFromEnvironment);
