import { DeliveryError } from "@pullkeeper/core";

const THROTTLING = new Set(["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown"]);
const DENIED = new Set(["AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException", "InvalidSignatureException", "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken"]);
const NOT_FOUND = new Set(["ResourceNotFoundException", "NoSuchEntityException", "NoSuchEntity"]);
const INVALID = new Set(["ValidationException", "InvalidInputException", "InvalidInput", "InvalidParameterException", "InvalidParameterValueException"]);

interface AwsErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

export function awsErrorName(error: unknown): string {
  return (error as AwsErrorShape | undefined)?.name ?? "Error";
}

/**
 * Classifies an error from one of pullkeeper's own AWS calls (not the consumer's role, which
 * wiring checks report) into a DeliveryError:
 * - throttling: `throttled`, retryable; AWS sends no Retry-After, so the engine's backoff applies;
 * - access denied: `access_denied`, not retryable — pullkeeper's own policy lacks the action;
 * - not found: `not_found`, not retryable;
 * - a rejected request: `invalid_request`, not retryable;
 * - 5xx, network and anything unknown: `unavailable`, retryable.
 * AWS messages name actions and resources, never secret values, so they are kept.
 */
export function awsDeliveryError(error: unknown, what: string): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const e = (error ?? {}) as AwsErrorShape;
  const name = awsErrorName(error);
  const message = e.message ?? String(error);
  const status = e.$metadata?.httpStatusCode;
  const text = `${what}: ${name}: ${message}`;
  if (THROTTLING.has(name) || e.$retryable?.throttling === true || status === 429) {
    return new DeliveryError("throttled", `${what}: throttled by AWS after the SDK's retries (${name})`, { retryable: true, cause: error });
  }
  if (DENIED.has(name)) return new DeliveryError("access_denied", `${text} (pullkeeper's own IAM policy must allow this call)`, { retryable: false, cause: error });
  if (NOT_FOUND.has(name)) return new DeliveryError("not_found", text, { retryable: false, cause: error });
  if (INVALID.has(name)) return new DeliveryError("invalid_request", text, { retryable: false, cause: error });
  return new DeliveryError("unavailable", text, { retryable: true, cause: error });
}
