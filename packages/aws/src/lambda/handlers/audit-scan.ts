import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { lazy } from "../lazy.js";
import { observability, withObservability } from "../observability.js";
import { EventBridgeEnvelopeSchema, scheduledInvocationSchema, validateEvent } from "../validate-event.js";
import type { AuditReport, AuditScanService } from "@pullkeeper/core";
import * as z from "zod";

/**
 * The audit scan: on schedule (its EventBridge Scheduler input) and on demand (POST
 * /v1/environments/scan invokes it with an EventBridge envelope). Discovers environments per consumer, judges them, records verdicts, and
 * emits the numbers the alarms watch.
 */

export const AuditScanEventSchema = scheduledInvocationSchema(
  "audit-scan",
  EventBridgeEnvelopeSchema.extend({
    detail: z.strictObject({ registryIds: z.array(z.string().min(1)).min(1).optional() }),
  }),
);
export type AuditScanEvent = z.infer<typeof AuditScanEventSchema>;

const telemetry = observability("pullkeeper-audit-scan");
const { logger, metrics } = telemetry;

/** Service-level totals (the alarms' metrics) and the same counts per registry, for dashboards. */
function emit(report: AuditReport): void {
  metrics.addMetric("StaleEnvironments", MetricUnit.Count, report.totals.stale);
  metrics.addMetric("ExpiredEnvironments", MetricUnit.Count, report.totals.expired);
  metrics.addMetric("DoomedEnvironments", MetricUnit.Count, report.totals.doomed);
  metrics.addMetric("DiscoveryFailures", MetricUnit.Count, report.discoveryFailures);
  if (report.minutesToEarliestExpiry !== undefined) metrics.addMetric("MinutesToEarliestExpiry", MetricUnit.Count, Math.max(0, report.minutesToEarliestExpiry));
  for (const r of report.registries) {
    for (const [name, value] of [["StaleEnvironments", r.counts.stale], ["ExpiredEnvironments", r.counts.expired], ["DoomedEnvironments", r.counts.doomed]] as const) {
      // A single metric publishes at once and drops its dimensions: one per value, or the rest would land on the alarms' totals.
      const perRegistry = metrics.singleMetric();
      perRegistry.addDimension("registry", r.registryId);
      perRegistry.addMetric(name, MetricUnit.Count, value);
    }
  }
}

export function createAuditScanHandler(runtime: () => Promise<AuditScanService>) {
  const ready = lazy(runtime);
  const scan = async (raw: unknown) => {
    const event = raw as AuditScanEvent;
    const report = await (await ready()).scan(event.detail.registryIds ? { registryIds: event.detail.registryIds } : {});
    emit(report);
    logger.info("audit scan finished", { totals: report.totals, discoveryFailures: report.discoveryFailures, minutesToEarliestExpiry: report.minutesToEarliestExpiry });
    return report;
  };
  return withObservability(scan, telemetry)
    .use(validateEvent(AuditScanEventSchema, "audit scan event"));
}

