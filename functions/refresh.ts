import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import { EcrTokenSource } from "@pullkeeper/aws";
// Module by module, not the @pullkeeper/aws/lambda index: that reaches the delivery targets' clients.
import { awsAdapters } from "@pullkeeper/aws/lambda/adapters";
import { readConfigFile } from "@pullkeeper/aws/lambda/config-file";
import { lazy } from "@pullkeeper/aws/lambda/lazy";
import { observability } from "@pullkeeper/aws/lambda/observability";
import { scheduledInvocationSchema, validateEvent } from "@pullkeeper/aws/lambda/validate-event";
import { type PullkeeperConfig, RefreshRequestSchema, type RefreshReport, RefreshService, systemClock } from "@pullkeeper/core";
import { RegistryV2Verifier } from "@pullkeeper/registry";
import type { z } from "zod";

/**
 * Scheduled refresh of minted tokens: the refresh schedule's input (EventBridge Scheduler) or an
 * EventBridge envelope (the API on demand, the embedded runtime) in, RefreshService out, report back.
 */

export const RefreshEventSchema = scheduledInvocationSchema("refresh", EventBridgeSchema.extend({ detail: RefreshRequestSchema }));
export type RefreshEvent = z.infer<typeof RefreshEventSchema>;

export interface RefreshRuntime {
  readonly config: PullkeeperConfig;
  readonly service: RefreshService;
}

const { logger, metrics, tracer } = observability("pullkeeper-refresh");

/** Builds the adapters from the environment the stack sets. */
export async function runtimeFromEnvironment(): Promise<RefreshRuntime> {
  const config = readConfigFile();
  const service = new RefreshService({
    ...(await awsAdapters(tracer)),
    tokens: new EcrTokenSource({ clock: systemClock }),
    verifier: new RegistryV2Verifier(),
    policy: { maxJitterSeconds: config.settings.maxJitterSeconds },
  });
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

  return middy(refresh)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(validateEvent(RefreshEventSchema, "refresh event"));
}

export const handler = createRefreshHandler(runtimeFromEnvironment);
