import { parseArn } from "../shared/arn.js";

/** The parts of pullkeeper.yaml (or of the parsed registries and consumers) that name regions. */
export interface RegionSources {
  readonly registries: readonly { readonly secret: string }[];
  readonly consumers: readonly { readonly target: { readonly kind: string } & Readonly<Record<string, unknown>> }[];
}

/**
 * The regions worth searching for undeclared consumers: where the tracked secrets live (a
 * resource elsewhere must name them by ARN, and usually sits next to them), where the declared
 * AWS consumers live (`regionsNamed`: the target modules', see regionsNamed in
 * packages/aws/src/target-modules.ts), and the deployment's own region, where a secret given by name lives.
 * Sorted, each once.
 */
export function undeclaredSearchRegions(
  config: RegionSources,
  regionsNamed: (target: RegionSources["consumers"][number]["target"]) => readonly (string | undefined)[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const regions = new Set<string>();
  const add = (region: string | undefined) => {
    if (region !== undefined && region !== "") regions.add(region);
  };
  for (const registry of config.registries) add(parseArn(registry.secret)?.region);
  for (const consumer of config.consumers) for (const region of regionsNamed(consumer.target)) add(region);
  add(env.AWS_REGION || env.AWS_DEFAULT_REGION);
  return [...regions].sort();
}
