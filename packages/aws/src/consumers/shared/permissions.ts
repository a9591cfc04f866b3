import { type DeployLocation, formatPath, type IamStatement, type PermissionConsumer } from "@pullkeeper/core";
import type { z } from "zod";

/** The deploy validated every consumer already (stacks/consumers.ts); this applies the schema's defaults. */
export function permissionTarget<S extends z.ZodType>(schema: S, consumer: PermissionConsumer): z.output<S> {
  const parsed = schema.safeParse(consumer.target);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${formatPath(["consumers", consumer.index, "target", ...issue.path])}: ${issue.message}`);
  throw new Error(`consumers[${consumer.index}].target is not valid:\n  ${issues.join("\n  ")}`);
}

export const unique = (values: Iterable<string>): string[] => [...new Set(values)];

/**
 * A delivery checks that the project's service role / the task's execution role may read the
 * registry's secret. That role is not in the config (it is read from the project or task
 * definition at delivery time), so this is the one broad resource: every role of the deploy
 * account. SimulatePrincipalPolicy only evaluates policies; it changes nothing and reads no secret.
 */
export const simulateRoles = (at: DeployLocation): IamStatement => ({ actions: ["iam:SimulatePrincipalPolicy"], resources: [`arn:${at.partition}:iam::${at.account}:role/*`] });
