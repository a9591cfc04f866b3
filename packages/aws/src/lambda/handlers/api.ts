import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { clientOptions, DynamoLedger } from "../../index.js";
import { auditActionsFromEnvironment } from "../audit-actions.js";
import { readConfigFile } from "../config-file.js";
import { CONSUMER_SCHEMAS } from "../consumer-schemas.js";
import { lazy } from "../lazy.js";
import { observability, withObservability } from "../observability.js";
import { auditApi } from "../wiring.js";
import type { AuditApi, DashboardAssets } from "@pullkeeper/api";
import { consumersFromConfig } from "@pullkeeper/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

/**
 * The audit API behind API Gateway (HTTP API, IAM-authorized). The embedded runtime's HTTP
 * server builds the same event shape and calls this same handler.
 */

const telemetry = observability("pullkeeper-api");
const { logger, tracer } = telemetry;

/** The dashboard comes from the entry point: this package does not depend on @pullkeeper/dashboard. */
export function apiFromEnvironment(dashboard?: DashboardAssets): AuditApi {
  const tableName = process.env.PULLKEEPER_TABLE;
  if (!tableName) throw new Error("environment variable PULLKEEPER_TABLE is not set (the stack sets it)");
  const ledger = new DynamoLedger({ tableName, client: tracer.captureAWSv3Client(new DynamoDBClient(clientOptions())) });
  const config = readConfigFile();
  return auditApi({ config, consumers: consumersFromConfig(config, CONSUMER_SCHEMAS), ledger, actions: auditActionsFromEnvironment(() => config), ...(dashboard && { dashboard }) });
}

export function createApiHandler(api: () => AuditApi | Promise<AuditApi>) {
  const ready = lazy(api);
  const serve = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      const response = await (
        await ready()
      ).handle({
        method: event.requestContext.http.method,
        path: event.rawPath,
        query: event.queryStringParameters ?? {},
      });
      if (response.contentType !== undefined) return { statusCode: response.status, headers: { "content-type": response.contentType }, body: String(response.body) };
      return { statusCode: response.status, headers: { "content-type": "application/json" }, body: JSON.stringify(response.body) };
    } catch (error) {
      // Unexpected failures are logged in full; the caller learns only that it was ours.
      logger.error("audit API request failed", { error: error as Error, path: event.rawPath });
      return { statusCode: 500, headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "internal", message: "internal error; see the function's logs" }) };
    }
  };
  return withObservability(serve, telemetry, { metrics: false });
}

