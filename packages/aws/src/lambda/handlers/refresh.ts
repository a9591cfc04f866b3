import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { EcrTokenSource } from "../../index.js";
// Module by module, not the lambda index: that reaches the delivery targets' clients.
import { awsServiceAdapters } from "../adapters.js";
import { readConfigFile } from "../config-file.js";
import { lazy } from "../lazy.js";
import { observability, withObservability } from "../observability.js";
import { EventBridgeEnvelopeSchema, scheduledInvocationSchema, validateEvent } from "../validate-event.js";
import { providerLimiter } from "../provider-limiter.js";
import { refreshService } from "../wiring.js";
import { type PullkeeperConfig, RefreshRequestSchema, type RefreshReport, type RefreshService, systemClock } from "@pullkeeper/core";
import type { z } from "zod";

/**
 * Scheduled refresh of minted tokens: the refresh schedule's input (EventBridge Scheduler) or an
 * EventBridge envelope (the API on demand, the embedded runtime) in, RefreshService out, report back.
 */

export const RefreshEventSchema = scheduledInvocationSchema("refresh", EventBridgeEnvelopeSchema.extend({ detail: RefreshRequestSchema }));
export type RefreshEvent = z.infer<typeof RefreshEventSchema>;

export interface RefreshRuntime {
  readonly config: PullkeeperConfig;
  readonly service: RefreshService;
}

const telemetry = observability("pullkeeper-refresh");
const { logger, metrics, tracer } = telemetry;

/** Builds the adapters from the environment the stack sets. */
export async function runtimeFromEnvironment(): Promise<RefreshRuntime> {
  const config = readConfigFile();
  // Minting sources that call a provider's API (gar-token) share the limiter every function uses.
  const service = refreshService({ adapters: await awsServiceAdapters(tracer), config, tokens: new EcrTokenSource({ clock: systemClock }), http: { limiter: providerLimiter(tracer, config) } });
  return { config, service };
}

/** The report as JSON: dates as ISO strings, no credential anywhere in it. */
export function reportToJson(report: RefreshReport) {
  return JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
}

export function createRefreshHandler(runtime: () => Promise<RefreshRuntime>) {
  const ready = lazy(runtime);
  // The raw event is unknown until validateEvent (below) has replaced it with a RefreshEvent.
  const refresh = async (raw: unknown) => {
    const event = raw as RefreshEvent;
    const { config, service } = await ready();
    const report = await service.run(config.registries, {
      ...(event.detail.registryIds !== undefined && { registryIds: event.detail.registryIds }),
      ...(event.detail.force !== undefined && { force: event.detail.force }),
    });
    const count = (outcome: string) => report.results.filter((r) => r.outcome === outcome).length;
    metrics.addMetric("TokensRefreshed", MetricUnit.Count, count("refreshed"));
    metrics.addMetric("RefreshFailures", MetricUnit.Count, count("failed"));
    if (report.earliestExpiry) {
      metrics.addMetric("SecondsToEarliestExpiry", MetricUnit.Seconds, Math.max(0, Math.round((report.earliestExpiry.getTime() - Date.now()) / 1000)));
    }
    for (const result of report.results) {
      if (result.outcome === "failed") logger.error("registry refresh failed", { ...result });
    }
    if (report.eventError) logger.error("Credential Rotated events not delivered", { error: report.eventError });
    logger.info("refresh finished", { refreshed: count("refreshed"), fresh: count("fresh"), unchanged: count("unchanged"), failed: count("failed") });
    return reportToJson(report);
  };

  return withObservability(refresh, telemetry, { captureColdStartMetric: true })
    .use(validateEvent(RefreshEventSchema, "refresh event"));
}

