import type { FunctionTracer } from "./observability.js";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { RotateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  type AuditActions,
  type DeliveryTarget,
  DeliveryError,
  InvalidInputError,
  htpasswdSourceOf,
  isRotated,
  type PullkeeperConfig,
  PullkeeperError,
  type Registry,
  restartThroughTarget,
  type RollbackResult,
  type RotatedRegistry,
  UpstreamError,
} from "@pullkeeper/core";
import { clientOptions } from "../clients.js";
import { classifyAwsError } from "../errors.js";
import { required } from "./adapters.js";
import { targetsReadingSecretsManager } from "./audit-targets.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";
import { plannerFromEnvironment } from "./planner-runtime.js";
import { scheduledEvent } from "./scheduled-event.js";
import { propagationActions } from "./wiring.js";

let tracer: FunctionTracer | undefined;

/**
 * An htpasswd registry Secrets Manager rotates on AWS (the rotation stack, stacks/rotation.ts):
 * every htpasswd registry but the embedded runtime's own (`source.serve`, a docker-registry on
 * 127.0.0.1 that nothing on AWS reaches). The same rule as `rotatedOnAws` in
 * stacks/rotation-permissions.ts, which decides what the stack deploys and grants.
 */
export function rotatedBySecretsManager(registry: Registry): registry is RotatedRegistry {
  return isRotated(registry) && htpasswdSourceOf(registry)?.serve === undefined;
}

/** What the API sends the revoke function to roll a registry back (the detail of a scheduled-event envelope). */
export interface RollbackRequest {
  readonly rollback: string;
}

/**
 * What the revoke function answers a rollback request with: the rollback's result, or the
 * refusal as data (code and message, never a credential), so that the API raises it again as the
 * same PullkeeperError. A thrown error would reach the API only as an opaque FunctionError.
 */
export type RollbackAnswer = RollbackResult | { readonly error: { readonly code: string; readonly message: string } };

/** The environment variable that names the revoke function; set by the stack only when the rotation stack exists. */
export const REVOKE_FUNCTION_ENV = "PULLKEEPER_REVOKE_FUNCTION";

/** Starts a function without waiting for it (InvocationType Event): its failures go to its own failure queue. */
async function invokeAsync(lambda: LambdaClient, functionName: string, payload: unknown): Promise<void> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(payload)) }));
  if (out.StatusCode !== 202) throw new DeliveryError("unavailable", `${functionName} did not accept the invocation (HTTP ${out.StatusCode})`, { retryable: true });
}

const errorName = (error: unknown): string | undefined => (error as { name?: string } | undefined)?.name;
const errorMessage = (error: unknown): string => (error as { message?: string } | undefined)?.message ?? String(error);

/**
 * POST /v1/registries/{id}/refresh for an htpasswd registry: Secrets Manager's own rotation of
 * the registry's secret, with the rotation function and schedule the rotation stack configured
 * (no RotationLambdaARN, no rules: RotateSecret starts "with the values already stored in the
 * secret"). No ClientRequestToken: Secrets Manager makes one, which becomes the new version's ID.
 *
 * IAM (stacks/rotation-permissions.ts, apiRotationPermissions): `secretsmanager:RotateSecret` on
 * the rotated secrets. Whether the caller also needs `lambda:InvokeFunction` on the rotation
 * function, AWS's documents disagree: the Secrets Manager User Guide ("Permissions required to
 * automatically rotate secrets") says the only permission needed to trigger a rotation that is
 * already configured is `secretsmanager:RotateSecret` (Secrets Manager then invokes the function
 * as `secretsmanager.amazonaws.com`, under the resource-policy statement the rotation stack adds
 * per secret); the current API Reference for RotateSecret adds "You also need
 * lambda:InvokeFunction permissions on the rotation function". The stack grants both, the
 * invoke on the rotate function only, so an on-demand rotation works under either reading.
 */
async function rotateNow(secrets: SecretsManagerClient, registry: RotatedRegistry) {
  try {
    await secrets.send(new RotateSecretCommand({ SecretId: registry.secret, RotateImmediately: true }));
  } catch (error) {
    if (errorName(error) === "InvalidRequestException") {
      // "A previous rotation isn't complete. That rotation will be reattempted.": AWSPENDING sits on a version that is not AWSCURRENT.
      if (/previous rotation/i.test(errorMessage(error))) {
        throw new PullkeeperError("rotation_in_progress", `registry ${registry.id}: a previous rotation of secret ${registry.secret} is not complete (Secrets Manager retries it); not started`, { cause: error });
      }
      // Another state Secrets Manager refuses a rotation in (rotation not configured, secret scheduled for deletion…).
      throw new PullkeeperError("invalid_request", `registry ${registry.id}: Secrets Manager refused to rotate secret ${registry.secret}: ${errorMessage(error)}`, { cause: error });
    }
    throw classifyAwsError(error, `secret ${registry.secret} (RotateSecret)`);
  }
  return { outcome: "requested", registry: registry.id, rotation: "secrets-manager" } as const;
}

/** The refusal the revoke function returned, raised again as the error the API maps (invalid_input: 400; the lifecycle's refusals: 409). */
function refusal(error: { readonly code: string; readonly message: string }): PullkeeperError {
  if (error.code === "invalid_input") return new InvalidInputError(error.message);
  return new PullkeeperError(error.code, error.message);
}

const isRefusal = (answer: unknown): answer is { error: { code: string; message: string } } => {
  const error = (answer as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === "string" && typeof error.message === "string";
};

/**
 * POST /v1/registries/{id}/rollback on AWS: the revoke function does it, synchronously
 * (RequestResponse), because it runs in the registry's VPC with the EFS mount and can open a
 * private registry to check that the previous credential still works.
 *
 * One attempt only (its own client, maxAttempts 1): a rollback retried after a lost answer would
 * run twice, and a second rollback puts the credential rolled back from back. The revoke
 * function runs one invocation at a time (reserved concurrency 1): while a scheduled revoke run
 * holds it, Lambda throttles the call, which is answered as rotation_in_progress (409, try again).
 */
async function rollbackThroughRevoke(lambda: LambdaClient, functionName: string, registry: Registry): Promise<RollbackResult> {
  let out;
  try {
    out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(scheduledEvent({ rollback: registry.id } satisfies RollbackRequest))) }));
  } catch (error) {
    if (errorName(error) === "TooManyRequestsException") {
      throw new PullkeeperError("rotation_in_progress", `registry ${registry.id}: the revoke function is busy (a revoke run is in progress); rollback not started, try again shortly`, { cause: error });
    }
    throw classifyAwsError(error, `function ${functionName} (rollback of ${registry.id})`);
  }
  const text = out.Payload ? Buffer.from(out.Payload).toString("utf8") : "";
  if (out.FunctionError !== undefined) {
    // An unhandled error: its message stays in the revoke function's logs, the API names its type only.
    let type = out.FunctionError;
    try {
      type = (JSON.parse(text) as { errorType?: string }).errorType ?? type;
    } catch {
      // Not JSON: keep Lambda's classification.
    }
    throw new UpstreamError("rollback_failed", `registry ${registry.id}: the revoke function failed during the rollback (${type}); see its logs`, true);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new UpstreamError("rollback_failed", `registry ${registry.id}: the revoke function answered the rollback with something other than JSON`, false);
  }
  if (isRefusal(answer)) throw refusal(answer.error);
  return answer as RollbackResult;
}

/**
 * What the audit API sets in motion on AWS: refresh and scans run in their own functions (invoked
 * asynchronously, so the API answers at once), except the refresh of an htpasswd registry, which
 * asks Secrets Manager to rotate its secret now; propagation plans through the queue; restart
 * calls the target (built on the first restart); rollback runs in the revoke function
 * (synchronously), wired only when the stack names it (PULLKEEPER_REVOKE_FUNCTION: with the
 * rotation stack), otherwise its route answers 501.
 */
export function auditActionsFromEnvironment(config: () => PullkeeperConfig = readConfigFile): AuditActions {
  tracer ??= observability("pullkeeper-api").tracer;
  const t = tracer;
  const lambda = t.captureAWSv3Client(new LambdaClient(clientOptions()));
  let secrets: SecretsManagerClient | undefined;
  let rollbackLambda: LambdaClient | undefined;
  let targets: Promise<Map<string, DeliveryTarget>> | undefined;
  const revokeFunction = process.env[REVOKE_FUNCTION_ENV] || undefined;
  return {
    refresh: async (registry, { force }) => {
      if (isRotated(registry)) {
        if (htpasswdSourceOf(registry)?.serve !== undefined) throw new InvalidInputError(`registry ${registry.id}: the embedded runtime serves it (source.serve); it is not rotated on AWS`);
        secrets ??= t.captureAWSv3Client(new SecretsManagerClient(clientOptions()));
        return rotateNow(secrets, registry);
      }
      await invokeAsync(lambda, required("PULLKEEPER_REFRESH_FUNCTION"), scheduledEvent({ registryIds: [registry.id], force }));
      return { outcome: "requested", registry: registry.id, force };
    },
    scan: async (registryIds) => {
      await invokeAsync(lambda, required("PULLKEEPER_AUDIT_SCAN_FUNCTION"), scheduledEvent(registryIds ? { registryIds: [...registryIds] } : {}));
      return { outcome: "requested", registries: registryIds ?? "all" };
    },
    ...propagationActions(plannerFromEnvironment),
    restart: async (consumer, environment) => {
      targets ??= targetsReadingSecretsManager(t, config());
      return restartThroughTarget(await targets, consumer, environment);
    },
    ...(revokeFunction !== undefined && {
      rollback: async (registry: Registry) => {
        // The revoke function may touch only the rotated registries' secrets and files.
        if (!rotatedBySecretsManager(registry)) {
          const what = isRotated(registry) ? "is served by the embedded runtime (source.serve)" : `has source ${registry.source.type}`;
          throw new PullkeeperError("rollback_unsupported", `registry ${registry.id}: on AWS, rollback is wired for the htpasswd registries Secrets Manager rotates; this one ${what}`);
        }
        // A synchronous Invoke waits for the rollback itself: up to API Gateway's 30 s, not a plain call's 10 s.
        rollbackLambda ??= t.captureAWSv3Client(new LambdaClient({ ...clientOptions(undefined, { requestTimeoutMs: 29_000 }), maxAttempts: 1 }));
        return rollbackThroughRevoke(rollbackLambda, revokeFunction, registry);
      },
    }),
  };
}
