import { auditScanFromEnvironment } from "@pullkeeper/aws/lambda/audit-runtime";
import { createAuditScanHandler } from "@pullkeeper/aws/lambda/handlers/audit-scan";

/** The audit scan; the handler itself is in @pullkeeper/aws/lambda/handlers/audit-scan. */
export * from "@pullkeeper/aws/lambda/handlers/audit-scan";

export const handler = createAuditScanHandler(() => auditScanFromEnvironment());
