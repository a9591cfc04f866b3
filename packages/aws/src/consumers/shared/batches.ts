/** BatchGetBuilds, BatchGetProjects and DescribeTasks take at most 100 names or IDs per call. */
export const MAX_BATCH = 100;

/** `items` in order, cut into slices of at most `size`. */
export function batches<T>(items: readonly T[], size = MAX_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
