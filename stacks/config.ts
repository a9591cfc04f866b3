import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { checkConfigFile } from "../packages/core/src/config/config.js";
import { type PullkeeperConfig, validateConfig } from "../packages/core/src/config/config-document.js";
import { scheduleIssues } from "../packages/core/src/config/schedule-check.js";
import type { TargetSchemas } from "../packages/core/src/model/consumers.js";
import { sourceCapabilities, sourcePermissions } from "../packages/core/src/source-modules.js";
import { TARGET_MODULES_BY_KIND } from "../packages/aws/src/target-modules.js";

/**
 * Deploy-time config: read and validate `pullkeeper.yaml` once, then derive infrastructure
 * (IAM, schedule) from it. Everything here except `loadDeployConfig` is pure and is unit
 * tested without SST (test/infra/permissions.test.ts).
 *
 * Nothing in this file may use SST globals: the tests and the repo-wide typecheck import it
 * without the SST platform.
 */

export interface DeployConfig {
  readonly config: PullkeeperConfig;
  /** Absolute path of the file that was validated. */
  readonly file: string;
  /** The same file relative to the app root: how the deploy's errors name it. */
  readonly relativeFile: string;
  /** The file's text, so deploy-time checks (rotationPlan) place their issues at a line and column. */
  readonly text?: string;
  /** The parsed document `config` was checked from: what the functions get, as JSON (shippedConfig). */
  readonly document: unknown;
}

/**
 * The config as the functions read it (packages/aws/src/lambda/config-file.ts): the checked
 * document as JSON, so no function loads a YAML parser at cold start; named by its content, so
 * deploys of other configs from the same checkout never overwrite it. A value that does not survive
 * JSON (YAML's .inf, say) fails the deploy here rather than a function later.
 */
export function shippedConfig(deploy: Pick<DeployConfig, "config" | "document" | "relativeFile">): { readonly name: string; readonly json: string } {
  const json = `${JSON.stringify(deploy.document, null, 2)}\n`;
  let back: PullkeeperConfig | undefined;
  try {
    back = validateConfig(JSON.parse(json) as unknown, deploy.relativeFile);
  } catch {
    back = undefined;
  }
  if (back === undefined || !isDeepStrictEqual(back, deploy.config)) {
    throw new Error(`${deploy.relativeFile}: a value in it does not survive as JSON, which is how the functions read the config (a YAML-only value such as .inf or .nan?); write it as a plain string or number`);
  }
  return { name: `pullkeeper-${createHash("sha256").update(json).digest("hex").slice(0, 16)}.json`, json };
}

/**
 * Reads `PULLKEEPER_CONFIG` (default `pullkeeper.yaml`, relative to the app root) and checks it
 * with checkConfigFile and the delivery targets the functions register: the same check as
 * `pullkeeper validate` and `pullkeeper dev`. A missing or invalid file throws, which fails
 * `sst deploy` with every issue at its line and column (for example
 * `pullkeeper.yaml is not valid:\n  pullkeeper.yaml:4:11 registries[0].host: ...`).
 */
export function loadDeployConfig(env: NodeJS.ProcessEnv = process.env, root: string = process.cwd(), targets: TargetSchemas = TARGET_MODULES_BY_KIND): DeployConfig {
  const given = env.PULLKEEPER_CONFIG?.trim() || "pullkeeper.yaml";
  const file = path.resolve(root, given);
  const relativeFile = path.relative(root, file);
  if (relativeFile.startsWith("..") || path.isAbsolute(relativeFile)) {
    throw new Error(`PULLKEEPER_CONFIG=${given}: the config file must be inside the app directory ${root}, where the deploy reads it and names it in its errors`);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new Error(`cannot read the pullkeeper config ${relativeFile} (${code}); set PULLKEEPER_CONFIG to its path relative to ${root}`);
  }
  // With the checks that take a schedule's runs, which the functions' own parse leaves to here.
  const { config, document } = checkConfigFile(text, relativeFile, targets, scheduleIssues);
  return { config, document, file, relativeFile, text };
}

/** An IAM statement as SST's `FunctionPermissionArgs` takes it (effect defaults to allow). */
export interface PermissionStatement {
  readonly actions: string[];
  readonly resources: string[];
}

export interface RefreshPermissionContext {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly tableArn: string;
  readonly busArn: string;
  readonly fingerprintKeySecretArn: string;
}

/** A secret given by name resolves to this ARN pattern (Secrets Manager appends 6 random characters). */
export function secretArn(secret: string, ctx: Pick<RefreshPermissionContext, "partition" | "region" | "account">): string {
  if (secret.startsWith("arn:")) return secret;
  return `arn:${ctx.partition}:secretsmanager:${ctx.region}:${ctx.account}:secret:${secret}-??????`;
}

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/**
 * The refresh function's IAM statements, derived from the config. Only what refresh uses:
 * - the credential secrets of the registries whose source mints (read, write a pending version,
 *   promote it);
 * - the fingerprint HMAC key secret (read, and write it once on first use);
 * - what each minting source's module asks for its registries (`awsPermissions.refresh`: for ECR
 *   tokens, `sts:AssumeRole` on the roles the sources name and the token calls);
 * - the ledger table and its indexes; `PutEvents` on the pullkeeper bus.
 */
export function refreshPermissions(config: PullkeeperConfig, ctx: RefreshPermissionContext): PermissionStatement[] {
  const minted = config.registries.filter((r) => sourceCapabilities(r).mints);
  const statements: PermissionStatement[] = [];

  const credentialSecrets = unique(minted.map((r) => secretArn(r.secret, ctx)));
  if (credentialSecrets.length > 0) {
    statements.push({
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
      resources: credentialSecrets,
    });
  }
  statements.push({
    actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"],
    resources: [ctx.fingerprintKeySecretArn],
  });

  statements.push(...sourcePermissions(minted, "refresh", { secretArn: (secret) => secretArn(secret, ctx) }));

  statements.push({
    actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
    resources: [ctx.tableArn, `${ctx.tableArn}/index/*`],
  });
  statements.push({ actions: ["events:PutEvents"], resources: [ctx.busArn] });
  return statements;
}

/** X-Ray active tracing: these two actions do not support resource-level permissions. */
export const TRACING_PERMISSIONS: readonly PermissionStatement[] = [{ actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] }];

export type ScheduleExpression = `rate(${string})` | `cron(${string})`;

/** Narrows a validated schedule setting (`settings.refreshSchedule` by default) to what an EventBridge rule accepts. */
export function scheduleExpression(expression: string, setting = "settings.refreshSchedule"): ScheduleExpression {
  if (/^rate\(.+\)$/.test(expression) || /^cron\(.+\)$/.test(expression)) return expression as ScheduleExpression;
  throw new Error(`${setting}: expected rate(...) or cron(...), got "${expression}"`);
}
