import type { Context } from "aws-lambda";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDeployConfig, shippedConfig } from "../stacks/config.js";

/**
 * `npm start` until the embedded runtime lands: one refresh, through the very handler Lambda
 * runs, against whatever the environment points at (AWS itself, or compatible endpoints through
 * AWS_ENDPOINT_URL_*), then exit non-zero if any registry failed.
 */
const needed = ["PULLKEEPER_TABLE", "PULLKEEPER_BUS"].filter((name) => !process.env[name]);
if (!process.env.PULLKEEPER_FINGERPRINT_KEY && !process.env.PULLKEEPER_FINGERPRINT_KEY_SECRET) needed.push("PULLKEEPER_FINGERPRINT_KEY_SECRET");
if (needed.length > 0) {
  console.error(
    [
      "pullkeeper: one refresh needs somewhere to run. Set:",
      "  PULLKEEPER_TABLE=<DynamoDB table>  PULLKEEPER_BUS=<EventBridge bus>",
      "  PULLKEEPER_FINGERPRINT_KEY_SECRET=<secret id>  (or PULLKEEPER_FINGERPRINT_KEY=<base64 of 32 random bytes>)",
      "  PULLKEEPER_CONFIG=<path to pullkeeper.yaml>  (default ./pullkeeper.yaml)",
      "plus the usual AWS_REGION / credentials, or AWS_ENDPOINT_URL_<SERVICE> for compatible endpoints.",
      `missing now: ${needed.join(", ")}`,
    ].join("\n"),
  );
  process.exit(2);
}

// The function reads the config as the deploy ships it (JSON): check pullkeeper.yaml as the deploy
// does and hand the function that.
const deployed = loadDeployConfig(process.env);
const shipped = join(mkdtempSync(join(tmpdir(), "pullkeeper-refresh-once-")), "pullkeeper.json");
writeFileSync(shipped, shippedConfig(deployed).json);
process.env.PULLKEEPER_CONFIG = shipped;
const { handler } = await import("../functions/refresh.js");

const event = { version: "0", id: "local", "detail-type": "Scheduled Event", source: "aws.events", account: "000000000000", time: new Date().toISOString(), region: process.env.AWS_REGION ?? "us-east-1", resources: [], detail: {} };
const context = { functionName: "pullkeeper-refresh-local", awsRequestId: "local", getRemainingTimeInMillis: () => 300_000 } as unknown as Context;

const report = (await handler(event, context)) as { results: { outcome: string }[] };
console.log(JSON.stringify(report, null, 2));
process.exit(report.results.some((r) => r.outcome === "failed") ? 1 : 0);
