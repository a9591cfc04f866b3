import type { PullkeeperConfig } from "../packages/core/src/config/config-document.js";
import { HTPASSWD_EFS_MOUNT_PATH } from "../packages/core/src/config/config-schema.js";
import type { PathIssue } from "../packages/core/src/config/config-issues.js";
import { throwConfigIssues } from "../packages/core/src/config/config-locate.js";
import type { Registry } from "../packages/core/src/model/model.js";
import { isRotated, type RotatedRegistry } from "../packages/core/src/rotation/rotation.js";
import { sourcePermissions } from "../packages/core/src/source-modules.js";
import { type HtpasswdEfs, htpasswdSourceOf } from "../packages/core/src/sources/htpasswd/module.js";
import { sameSecret } from "../packages/core/src/model/secret-id.js";
import { type PermissionStatement, type RefreshPermissionContext, secretArn, TRACING_PERMISSIONS } from "./config";

/**
 * What the rotation stack (stacks/rotation.ts) deploys, derived from pullkeeper.yaml, and the IAM
 * statements of its two functions. Pure (no SST globals, no I/O): unit tested in
 * test/infra/stacks-rotation.test.ts, which also checks the deployed roles equal them.
 *
 * Which registries: every rotated registry (`isRotated`: a source with a rotation schedule, such
 * as htpasswd users or a provider's tokens or robot accounts made through its HTTP API, e.g.
 * dockerhub-token). One the embedded runtime serves itself (`source.serve`: a docker-registry it
 * starts on 127.0.0.1) or any registry on this machine's loopback cannot run on AWS, and fails the
 * deploy (awsReachabilityIssues): deploying it would leave a registry whose verification and
 * rotation fail at every run, on a machine nobody can see. For each, Secrets Manager rotates the
 * registry's secret with functions/rotate.ts on `source.rotation`; functions/revoke.ts retires the
 * previous credential on `settings.revokeSchedule`.
 *
 * An htpasswd registry's file (`source.file`) lives on EFS: with any htpasswd registry, both
 * functions mount the access point `source.efs` names at HTPASSWD_EFS_MOUNT_PATH, in its subnets
 * with its security groups (`efs` in the plan). A Lambda function mounts one file system and sits
 * in one VPC, so every htpasswd registry names the same `source.efs` (their files are different
 * paths on it). A source that rotates through its provider's API needs neither: without an
 * htpasswd registry the functions run outside any VPC and reach the provider on the internet;
 * what else its module needs (e.g. reading the admin login it names) comes from its
 * `awsPermissions.rotation`.
 *
 * Everything that would make the deploy fail later, or the rotation never run, fails here first
 * with its path in the file, all at once: a registry that cannot run on AWS (above), an htpasswd
 * registry without `source.efs` or with another `source.efs` than the first; any rotated registry
 * sharing a secret with another (Secrets Manager rotates a secret with one function on one
 * schedule), or with a `source.rotation` Secrets Manager refuses.
 */

/** The mount path of the access point in both functions (a Lambda mount path must be below /mnt/). */
export { HTPASSWD_EFS_MOUNT_PATH };

export interface RotatedRegistryPlan {
  /** Where the registry is in the file: `registries[<index>]`. */
  readonly index: number;
  readonly id: string;
  /** The secret as the config names it (Secrets Manager's RotateSecret takes a name or an ARN). */
  readonly secret: string;
  /** `source.rotation`, checked against what Secrets Manager accepts. */
  readonly schedule: string;
}

export interface RotationPlan {
  readonly registries: readonly RotatedRegistryPlan[];
  /**
   * The one EFS placement of the htpasswd registries, which both functions mount and whose VPC
   * they run in; undefined when no htpasswd registry is rotated (no mount, no VPC).
   */
  readonly efs?: HtpasswdEfs;
  /** The registries rotated on AWS: their source modules say what else both functions need (`awsPermissions.rotation`). */
  readonly rotated: readonly Registry[];
}

/** A registry the AWS deploy rotates: every rotated source's, but the embedded runtime's own htpasswd registry (`source.serve`). */
export function rotatedOnAws(registry: Registry): registry is RotatedRegistry {
  return isRotated(registry) && htpasswdSourceOf(registry)?.serve === undefined;
}

/** localhost, 127.0.0.0/8 or ::1, with or without a port: this machine, wherever it runs. */
const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[?::1\]?)(?::\d{1,5})?$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

function loopbackEndpoint(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  try {
    return isLoopback(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/**
 * Registries that cannot run on AWS, by their path in the file, once each: one the embedded
 * runtime serves (`source.serve`), and any whose host or verify.endpoint is the loopback (on AWS
 * that is the function's own sandbox, where no registry listens).
 */
export function awsReachabilityIssues(config: PullkeeperConfig): PathIssue[] {
  const issues: PathIssue[] = [];
  config.registries.forEach((registry, index) => {
    const at = (...path: string[]) => ["registries", index, ...path];
    const name = `registry "${registry.id}"`;
    if (htpasswdSourceOf(registry)?.serve !== undefined) {
      issues.push({
        path: at("source", "serve"),
        message: `${name} is served by the embedded runtime (pullkeeper dev) on ${registry.host}, which nothing on AWS can reach; deploy a config without it (PULLKEEPER_CONFIG names the file to deploy)`,
      });
    } else if (isLoopback(registry.host)) {
      issues.push({ path: at("host"), message: `${name} is at ${registry.host}, the loopback: on AWS that is the function's own sandbox, where no registry listens; name a host the functions reach` });
    } else if (loopbackEndpoint(registry.verify.endpoint)) {
      issues.push({
        path: at("verify", "endpoint"),
        message: `${name} is verified at ${registry.verify.endpoint ?? ""}, the loopback: on AWS no registry listens there; name an endpoint the functions reach, or leave it out to use the host`,
      });
    }
  });
  return issues;
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;

/** Secrets Manager's longest rate in days (RotationRules.AutomaticallyAfterDays ranges 1 to 1000). */
const MAX_DAYS = 1000;

/** The shortest rotation interval Secrets Manager allows. */
const MIN_HOURS = 4;

/**
 * Why Secrets Manager would refuse `expression` as a rotation schedule, or undefined when it
 * takes it. The config accepts what EventBridge does (stacks/config.ts); Secrets Manager is
 * narrower (Secrets Manager User Guide, "Schedule expressions in Secrets Manager rotation"):
 * - rate(N hours) or rate(N days), at most every 4 hours, so N ≥ 4 for hours; no minutes;
 *   days up to 1000;
 * - cron(Minutes Hours Day-of-month Month Day-of-week Year) with Minutes 0 (rotation windows
 *   open on the hour) and Year `*`; its Hours no more often than every 4 hours. Checked here:
 *   `*`, a range (every hour in it), a step under 4 and a list with two hours under 4 apart.
 *   Secrets Manager checks the rest of the expression when the rotation is set.
 */
export function secretsManagerScheduleIssue(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    if (unit.startsWith("minute")) return `Secrets Manager rotates at most every ${MIN_HOURS} hours, in hours or days: use rate(N hours) with N ≥ ${MIN_HOURS}, or rate(N days)`;
    if (value < 1) return "expected a positive interval";
    if (unit.startsWith("hour") && value < MIN_HOURS) return `Secrets Manager rotates at most every ${MIN_HOURS} hours: use rate(N hours) with N ≥ ${MIN_HOURS}, or rate(N days)`;
    if (unit.startsWith("day") && value > MAX_DAYS) return `Secrets Manager rotates at least every ${MAX_DAYS} days`;
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (!cron) return "expected rate(...) or cron(...)";
  const fields = (cron[1] as string).trim().split(/\s+/);
  if (fields.length !== 6) return "expected cron(Minutes Hours Day-of-month Month Day-of-week Year), six fields";
  const [minutes, hours, , , , year] = fields as [string, string, string, string, string, string];
  if (minutes !== "0") return "Secrets Manager opens rotation windows on the hour: the Minutes field must be 0";
  if (year !== "*") return "Secrets Manager rotates at least once a year: the Year field must be *";
  return cronHoursIssue(hours);
}

function cronHoursIssue(hours: string): string | undefined {
  const tooOften = `Secrets Manager rotates at most every ${MIN_HOURS} hours: the Hours field "${hours}" is more often`;
  const hour = (text: string) => /^\d{1,2}$/.test(text) && Number(text) <= 23;
  const plain: number[] = [];
  for (const part of hours.split(",")) {
    const step = /^(\*|\d{1,2}|\d{1,2}-\d{1,2})\/(\d{1,2})$/.exec(part);
    if (step) {
      if (Number(step[2]) < MIN_HOURS) return tooOften;
      continue;
    }
    if (part === "*") return tooOften;
    const range = /^(\d{1,2})-(\d{1,2})$/.exec(part);
    if (range) {
      if (range[1] !== range[2]) return tooOften;
      plain.push(Number(range[1]));
      continue;
    }
    if (!hour(part)) return `expected the Hours field to hold hours 0-23, got "${hours}"`;
    plain.push(Number(part));
  }
  const sorted = [...new Set(plain)].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) if ((sorted[i] as number) - (sorted[i - 1] as number) < MIN_HOURS) return tooOften;
  return undefined;
}

const sameEfs = (a: HtpasswdEfs, b: HtpasswdEfs): boolean => {
  const sameSet = (x: readonly string[], y: readonly string[]) => new Set(x).size === new Set(y).size && x.every((v) => y.includes(v));
  return a.fileSystem === b.fileSystem && a.accessPoint === b.accessPoint && sameSet(a.subnets, b.subnets) && sameSet(a.securityGroups, b.securityGroups);
};

/**
 * The rotation stack's plan: undefined when no registry is rotated on AWS (nothing is deployed);
 * otherwise the registries, and the one EFS placement when any of them is htpasswd. Throws,
 * naming every problem by its path in `file` (and its line and column, given the file's `text`),
 * when the config cannot be deployed or rotated on AWS.
 */
export function rotationPlan(config: PullkeeperConfig, file = "pullkeeper.yaml", text?: string): RotationPlan | undefined {
  const issues = awsReachabilityIssues(config);
  const registries: RotatedRegistryPlan[] = [];
  const rotated: Registry[] = [];
  let efs: { readonly value: HtpasswdEfs; readonly index: number } | undefined;
  config.registries.forEach((registry, index) => {
    if (!rotatedOnAws(registry)) return;
    const at = (...path: string[]) => ["registries", index, ...path];
    const { source } = registry;
    const htpasswd = htpasswdSourceOf(registry);
    if (htpasswd === undefined) {
      // Only an htpasswd file needs a mount; other rotated sources reach their provider's API.
    } else if (htpasswd.efs === undefined) {
      issues.push({
        path: at("source", "efs"),
        message: `registry "${registry.id}" is an htpasswd registry; on AWS its rotation writes source.file on EFS: set source.efs (fileSystem, accessPoint, subnets, securityGroups) and put source.file below ${HTPASSWD_EFS_MOUNT_PATH}/ (README, "Deploy to AWS")`,
      });
    } else if (efs === undefined) {
      efs = { value: htpasswd.efs, index };
    } else if (!sameEfs(efs.value, htpasswd.efs)) {
      issues.push({
        path: at("source", "efs"),
        message: `differs from registries[${efs.index}].source.efs; the rotation and revoke functions mount one EFS access point from one VPC, so every htpasswd registry names the same source.efs (with its file at its own path on it)`,
      });
    }
    const scheduleIssue = secretsManagerScheduleIssue(source.rotation);
    if (scheduleIssue !== undefined) issues.push({ path: at("source", "rotation"), message: `"${source.rotation}": ${scheduleIssue}` });
    const shared = registries.find((r) => sameSecret(r.secret, registry.secret));
    if (shared) {
      issues.push({
        path: at("secret"),
        message: `registries[${shared.index}] (${shared.id}) rotates the same secret; Secrets Manager rotates a secret with one function on one schedule, so each rotated registry needs its own`,
      });
    }
    registries.push({ index, id: registry.id, secret: registry.secret, schedule: source.rotation });
    rotated.push(registry);
  });
  if (issues.length > 0) throwConfigIssues(file, issues, text);
  if (registries.length === 0) return undefined;
  return { registries, ...(efs && { efs: efs.value }), rotated };
}

export type RotationPermissionContext = Pick<RefreshPermissionContext, "partition" | "region" | "account" | "tableArn" | "busArn" | "fingerprintKeySecretArn">;

export interface RevokePermissionContext extends RotationPermissionContext {
  /** Where a failed asynchronous invocation of revoke (a schedule tick) is sent. */
  readonly failuresQueueArn: string;
}

/**
 * The ledger items of the credential lifecycle, on the table itself (neither function queries
 * the index, which serves the audit API): the current version and the history (rotate's
 * finishSecret), the superseded versions, the revocation status, and the one-at-a-time registry
 * lock both functions take and release.
 */
export const LIFECYCLE_LEDGER_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:DeleteItem"];

export { fileSystemArn } from "../packages/core/src/sources/htpasswd/module.js";

/**
 * What Lambda needs to attach a function to the subnets, with the function's role: the EC2
 * actions of AWSLambdaVPCAccessExecutionRole (which SST's `vpc` would attach, on `*`), scoped:
 * CreateNetworkInterface on the configured subnets and security groups and the network
 * interfaces of the deploy account and region; DeleteNetworkInterface and the private-address
 * actions on those network interfaces. DescribeNetworkInterfaces and DescribeSubnets have no
 * resource-level permission (`*`).
 */
export function vpcPermissions(efs: HtpasswdEfs, ctx: Pick<RotationPermissionContext, "partition" | "region" | "account">): PermissionStatement[] {
  const ec2 = `arn:${ctx.partition}:ec2:${ctx.region}:${ctx.account}`;
  const interfaces = `${ec2}:network-interface/*`;
  return [
    { actions: ["ec2:CreateNetworkInterface"], resources: [...efs.subnets.map((s) => `${ec2}:subnet/${s}`), ...efs.securityGroups.map((g) => `${ec2}:security-group/${g}`), interfaces] },
    { actions: ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], resources: [interfaces] },
    { actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], resources: ["*"] },
  ];
}

const secretsOf = (plan: RotationPlan, ctx: Pick<RotationPermissionContext, "partition" | "region" | "account">) => [...new Set(plan.registries.map((r) => secretArn(r.secret, ctx)))];

/** awsAdapters() loads the fingerprint HMAC key (and writes it once, on first use). */
const fingerprintKey = (ctx: RotationPermissionContext): PermissionStatement => ({
  actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
  resources: [ctx.fingerprintKeySecretArn],
});

/**
 * The rotation function (functions/rotate.ts; Secrets Manager invokes it synchronously, so no
 * failure queue): the four steps on the rotated registries' secrets (read, write the pending
 * version, move the staging labels), the fingerprint key, the lifecycle ledger, Credential
 * Rotated on the bus, what the rotated sources need (`awsPermissions.rotation`: the htpasswd file
 * on EFS, a provider's admin login), the VPC attachment with an EFS only, tracing.
 */
export function rotatePermissions(plan: RotationPlan, ctx: RotationPermissionContext): PermissionStatement[] {
  return clone([
    {
      actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
      resources: secretsOf(plan, ctx),
    },
    fingerprintKey(ctx),
    { actions: LIFECYCLE_LEDGER_ACTIONS, resources: [ctx.tableArn] },
    { actions: ["events:PutEvents"], resources: [ctx.busArn] },
    ...sourcePermissions(plan.rotated, "rotation", { secretArn: (secret) => secretArn(secret, ctx) }),
    // In the VPC only to mount the htpasswd registries' EFS; a provider's API is reached without one.
    ...(plan.efs ? vpcPermissions(plan.efs, ctx) : []),
    ...TRACING_PERMISSIONS,
  ]);
}

/**
 * The revoke function (functions/revoke.ts): on settings.revokeSchedule, reads the rotated
 * registries' secrets, retires the previous credential (the previous user in the htpasswd file on
 * EFS; a provider's previous token or robot through its API, with the admin login); on demand
 * (POST /v1/registries/{id}/rollback, invoked by the audit API), rolls a registry back, which
 * writes the previous credential's value as a new version (PutSecretValue) and promotes it
 * (UpdateSecretVersionStage), on the rotated registries' secrets only. Also the fingerprint key,
 * the lifecycle ledger, the bus (Credential Revoked; Credential Rotated after a rollback), what
 * the rotated sources need, the VPC attachment (with an EFS only), its failure queue and tracing.
 */
export function revokePermissions(plan: RotationPlan, ctx: RevokePermissionContext): PermissionStatement[] {
  // What the rotation may do (a rollback writes and promotes a version too), and its failure queue.
  const statements = rotatePermissions(plan, ctx);
  statements.splice(statements.length - TRACING_PERMISSIONS.length, 0, { actions: ["sqs:SendMessage"], resources: [ctx.failuresQueueArn] });
  return statements;
}

export interface ApiRotationPermissionContext extends Pick<RotationPermissionContext, "partition" | "region" | "account"> {
  /** The rotation function Secrets Manager runs (see apiRotationPermissions for why the API may invoke it). */
  readonly rotateFunctionArn: string;
  /** The function POST /v1/registries/{id}/rollback invokes synchronously. */
  readonly revokeFunctionArn: string;
}

/**
 * What the audit API's function adds when the rotation stack exists (stacks/audit-permissions.ts,
 * apiPermissions, appends it; none without registries rotated on AWS):
 * - POST /v1/registries/{id}/refresh of a rotated registry calls RotateSecret (rotation as
 *   configured, now): `secretsmanager:RotateSecret` on exactly the rotated registries' secrets.
 *   The rotation function then runs under its own role, invoked by secretsmanager.amazonaws.com
 *   through the resource-policy statement stacks/rotation.ts adds per secret.
 * - Does the caller of RotateSecret also need `lambda:InvokeFunction` on the rotation function?
 *   The Secrets Manager User Guide ("Permissions required to automatically rotate secrets": the
 *   only permission needed to trigger a rotation after it is configured is RotateSecret) says no;
 *   the current API Reference for RotateSecret says "You also need lambda:InvokeFunction
 *   permissions on the rotation function". Granted on the rotate function, so an on-demand
 *   rotation does not fail with AccessDenied under the stricter reading; the API never invokes
 *   it itself (the rotate function also refuses any secret that is not a rotated registry's).
 * - POST /v1/registries/{id}/rollback invokes the revoke function synchronously (with htpasswd
 *   registries it runs in their VPC with the EFS mount): `lambda:InvokeFunction` on it.
 */
export function apiRotationPermissions(plan: RotationPlan, ctx: ApiRotationPermissionContext): PermissionStatement[] {
  return clone([
    { actions: ["secretsmanager:RotateSecret"], resources: secretsOf(plan, ctx) },
    { actions: ["lambda:InvokeFunction"], resources: [ctx.revokeFunctionArn, ctx.rotateFunctionArn] },
  ]);
}

/** Fresh arrays: SST and the tests may hold and compare the statements independently. */
function clone(statements: readonly PermissionStatement[]): PermissionStatement[] {
  return statements.map((s) => ({ actions: [...s.actions], resources: [...s.resources] }));
}
