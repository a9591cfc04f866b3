import * as z from "zod";

/**
 * What a refresh invocation may ask for, in the `detail` of its EventBridge event: the schedule
 * sends `{}`; an on-demand refresh names registries and may force.
 */
export const RefreshRequestSchema = z.strictObject({
  registryIds: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "expected registry ids")).min(1).max(100).optional(),
  force: z.boolean().optional(),
});

export type RefreshRequestInput = z.infer<typeof RefreshRequestSchema>;
