/**
 * The limit for a provider, in writes per second: its own entry in `overrides` (settings.rateLimits)
 * or `defaults` (each target module's defaultRateLimit, by provider), else the longest ":"-prefix
 * that has one ("aws:codebuild:eu-west-1" → "aws:codebuild"), else none.
 */
export function rateLimitFor(provider: string, overrides: Readonly<Record<string, number>> = {}, defaults: Readonly<Record<string, number>> = {}): number | undefined {
  for (let key = provider; ; key = key.slice(0, key.lastIndexOf(":"))) {
    const limit = overrides[key] ?? defaults[key];
    if (limit !== undefined) return limit;
    if (!key.includes(":")) return undefined;
  }
}
