import type { ProviderFault } from "../contract/source-contract.js";
import type { Fault } from "../contract/target-contract.js";
import type { DynamoFault } from "./dynamo-fault-proxy.js";
import { awsError } from "../../packages/aws/src/consumers/shared/testing.js";

/**
 * The faults every dependency meets in turn, one row each, and how each kind of dependency gives
 * it: an HTTP provider answers it on the wire (the contract's `Fault`, through its fault proxy), an
 * AWS client throws it as the SDK does after its own retries, and an AWS-backed target's contract
 * harness turns a status into the AWS error of that meaning (test/contract/target-entries.ts:
 * 401 → ExpiredTokenException, 403 → AccessDeniedException, 429 → ThrottlingException). A way left
 * out is a fault that dependency cannot give (AWS sends no Retry-After; an HTTP provider no
 * ThrottlingException): its row is reported skipped, as the contract suites do.
 */

export type AwsService = "secrets-manager" | "dynamodb" | "eventbridge" | "sqs" | "ecr" | "ecr-public";

export interface FaultRow {
  readonly name: string;
  /** Does a later attempt mend it: the ledger says retrying (or the run failed retryably), not failed for good. */
  readonly retryable: boolean;
  /** As an HTTP provider answers it. */
  readonly http?: Fault;
  /** As an AWS-backed target's harness is told to give it. */
  readonly awsTarget?: Fault;
  /** As a source's provider API gives it (the source contract's provider faults). */
  readonly provider?: ProviderFault;
  /** As an AWS SDK client throws it, per service (the expired token differs: 403 from ECR, 400 from ECR Public). */
  readonly aws?: (service: AwsService) => Error;
}

const RETRY_AFTER_SECONDS = 7;

/** What the SDK throws for a connection the peer reset, and for a request past the client's requestTimeout. */
export const resetError = (): Error => Object.assign(new Error("socket hang up"), { code: "ECONNRESET", $metadata: {} });
export const timeoutError = (): Error => Object.assign(new Error("Connection timed out after 200 ms"), { name: "TimeoutError", $metadata: {} });

export const FAULT_ROWS: readonly FaultRow[] = [
  { name: "500", retryable: true, provider: "server_500", http: { kind: "status", status: 500 }, awsTarget: { kind: "status", status: 500 }, aws: () => awsError("InternalServerError", "We encountered an internal error", 500) },
  { name: "503", retryable: true, provider: "server", http: { kind: "status", status: 503 }, awsTarget: { kind: "status", status: 503 }, aws: () => awsError("ServiceUnavailableException", "Service is unavailable", 503) },
  { name: "connection reset", retryable: true, provider: "reset", http: { kind: "reset" }, awsTarget: { kind: "reset" }, aws: resetError },
  { name: "hang past the timeout", retryable: true, provider: "hang", http: { kind: "timeout" }, awsTarget: { kind: "timeout" }, aws: timeoutError },
  { name: "429 with Retry-After", retryable: true, provider: "throttled_retry_after", http: { kind: "status", status: 429, retryAfterSeconds: RETRY_AFTER_SECONDS } },
  { name: "429 without Retry-After", retryable: true, provider: "throttled", http: { kind: "status", status: 429 }, aws: () => awsError("TooManyRequestsException", "Too many requests", 429) },
  { name: "ThrottlingException", retryable: true, awsTarget: { kind: "status", status: 429 }, aws: () => awsError("ThrottlingException", "Rate exceeded", 400) },
  {
    name: "AccessDenied",
    retryable: false,
    // The provider refuses pullkeeper's admin login.
    provider: "admin_rejected",
    http: { kind: "status", status: 403 },
    awsTarget: { kind: "status", status: 403 },
    aws: () => awsError("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/pullkeeper/fn is not authorized to perform this action", 400),
  },
  {
    name: "expired token",
    retryable: false,
    http: { kind: "status", status: 401 },
    awsTarget: { kind: "status", status: 401 },
    aws: (service) => awsError("ExpiredTokenException", "The security token included in the request is expired", service === "ecr" ? 403 : 400),
  },
];

export { RETRY_AFTER_SECONDS };

/** The row as DynamoDB answers it on the wire (through test/faults/dynamo-fault-proxy.ts). */
export function dynamoWire(row: FaultRow): DynamoFault | undefined {
  if (row.http?.kind === "reset") return { kind: "reset" };
  if (row.http?.kind === "timeout") return { kind: "hang" };
  const error = row.aws?.("dynamodb") as (Error & { $metadata?: { httpStatusCode?: number } }) | undefined;
  if (error === undefined) return undefined;
  return { kind: "error", status: error.$metadata?.httpStatusCode ?? 400, type: error.name, message: error.message };
}
