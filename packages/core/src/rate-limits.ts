/**
 * Default write budgets per provider, in writes per second. GitHub's secondary limit for
 * content-creating requests is about 80 a minute; the AWS control-plane calls the consumer checks
 * make are cheap reads, kept well under their default quotas.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, number>> = {
  github: 80 / 60,
  gitpod: 5,
  "aws:codebuild": 10,
  "aws:ecs": 10,
  kubernetes: 20,
};

/**
 * The limit for a provider: its own entry, else the longest ":"-prefix that has one
 * ("aws:codebuild:eu-west-1" → "aws:codebuild"), else none.
 */
export function rateLimitFor(provider: string, overrides: Readonly<Record<string, number>> = {}): number | undefined {
  for (let key = provider; ; key = key.slice(0, key.lastIndexOf(":"))) {
    const limit = overrides[key] ?? DEFAULT_RATE_LIMITS[key];
    if (limit !== undefined) return limit;
    if (!key.includes(":")) return undefined;
  }
}
