import { NotFoundError, PullkeeperError, UpstreamError } from "@pullkeeper/core";

const THROTTLING = new Set(["ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded", "LimitExceededException", "ProvisionedThroughputExceededException"]);
const DENIED = new Set(["AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "KMSAccessDeniedException", "DecryptionFailure"]);

/**
 * Turns an AWS SDK error into a domain error with a stable code. The SDK's messages name
 * resources and actions, never secret values, so they are kept for the person reading them.
 */
export function classifyAwsError(error: unknown, what: string): PullkeeperError {
  if (error instanceof PullkeeperError) return error;
  const name = (error as { name?: string } | undefined)?.name ?? "Error";
  const message = (error as { message?: string } | undefined)?.message ?? String(error);
  if (name === "ResourceNotFoundException") return new NotFoundError(what);
  if (THROTTLING.has(name)) return new UpstreamError("throttled", `${what}: throttled by AWS after retries (${name})`, true, { cause: error });
  if (DENIED.has(name)) return new UpstreamError("access_denied", `${what}: ${name}: ${message}`, false, { cause: error });
  return new UpstreamError("aws_error", `${what}: ${name}: ${message}`, true, { cause: error });
}
