/**
 * Options every AWS client here is built with. No endpoint and no region are set: the SDK
 * takes them from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, AWS_REGION and the default
 * credential chain, so any compatible endpoint can be swapped in without code changes.
 */
export function clientOptions(region?: string): { region?: string; maxAttempts: number } {
  return { maxAttempts: 5, ...(region !== undefined && { region }) };
}
