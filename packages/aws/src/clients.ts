/** How long an AWS call may wait for a connection, and for its answer, before the SDK gives up on that attempt. */
export const AWS_TIMEOUTS = { connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000 } as const;

/**
 * Options every AWS client here is built with. No endpoint and no region are set: the SDK
 * takes them from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, AWS_REGION and the default
 * credential chain, so any compatible endpoint can be swapped in without code changes.
 *
 * Timeouts: without them the SDK waits on a hung endpoint until the Lambda itself times out
 * (its requestTimeout alone only logs a warning unless throwOnRequestTimeout is set), so a stuck
 * call costs the whole invocation instead of one retried attempt. Every call pullkeeper makes
 * answers in well under a second; a caller that waits on longer work passes its own.
 */
export function clientOptions(
  region?: string,
  timeouts: { readonly connectionTimeoutMs?: number; readonly requestTimeoutMs?: number } = {},
): { region?: string; maxAttempts: number; requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true } } {
  return {
    maxAttempts: 5,
    requestHandler: {
      connectionTimeout: timeouts.connectionTimeoutMs ?? AWS_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs ?? AWS_TIMEOUTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    ...(region !== undefined && { region }),
  };
}
