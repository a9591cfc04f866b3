/**
 * The audit flow's settings and alarm thresholds. Pure (no SST globals, no I/O): used by
 * stacks/audit.ts, unit tested in test/infra/audit-permissions.test.ts.
 */

/** The CloudWatch namespace the functions' Powertools metrics use (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = "Pullkeeper";

/**
 * The `service` dimension of audit-scan's service-level totals: the service name
 * functions/audit-scan.ts gives Powertools (`observability("pullkeeper-audit-scan")`).
 */
export const AUDIT_SCAN_SERVICE = "pullkeeper-audit-scan";

/** The earliest-expiry alarm fires when a running environment's credential expires within this many minutes. */
export const EARLIEST_EXPIRY_ALARM_MINUTES = 120;

/** The discovery-failures alarm fires when discovery failed in this many consecutive periods (one failed scan may be a provider's hiccup). */
export const DISCOVERY_FAILURE_PERIODS = 3;

/** CloudWatch evaluates at most one day of periods (period × evaluation periods). */
const MAX_EVALUATION_SECONDS = 24 * 60 * 60;

/** The period for a cron() schedule, whose interval is not parsed here. */
export const CRON_ALARM_PERIOD_SECONDS = 60 * 60;

const UNIT_SECONDS: Record<string, number> = { minute: 60, minutes: 60, hour: 3600, hours: 3600, day: 86_400, days: 86_400 };

/**
 * The period of the metric alarms on audit-scan's metrics: one scan per period, so each period
 * holds one datapoint (a shorter period would leave most of them empty). From a `rate(...)`
 * schedule, its interval; from a `cron(...)` one, an hour. At least a minute, and short enough
 * that DISCOVERY_FAILURE_PERIODS periods fit in CloudWatch's one-day evaluation range.
 */
export function auditAlarmPeriodSeconds(schedule: string): number {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(schedule);
  const seconds = rate ? Number(rate[1]) * (UNIT_SECONDS[rate[2] as string] as number) : CRON_ALARM_PERIOD_SECONDS;
  const longest = Math.floor(MAX_EVALUATION_SECONDS / DISCOVERY_FAILURE_PERIODS / 60) * 60;
  return Math.min(Math.max(seconds, 60), longest);
}
