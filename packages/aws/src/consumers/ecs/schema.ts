import * as z from "zod";
import { awsRegionSchema } from "../shared/common.js";

const FAMILY = /^[A-Za-z0-9_-]{1,255}$/;
const ECS_ARN_REGION = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):\d{12}:/;

const serviceRef = z.strictObject({
  /** Cluster name or ARN. */
  cluster: z.string().min(1, "expected the cluster's name or ARN"),
  /** Service name or ARN. */
  service: z.string().min(1, "expected the service's name or ARN"),
});

/**
 * A consumer of kind `ecs-task-definition`: the latest ACTIVE revision of a task-definition family
 * whose containers on the registry's host must take their repositoryCredentials from its secret.
 */
export const ecsTaskDefinitionTargetSchema = z
  .strictObject({
    kind: z.literal("ecs-task-definition"),
    family: z.string().regex(FAMILY, "expected a task-definition family name (letters, digits, - and _; no revision)"),
    /** Where the task definition lives; default: the region of the registry's secret. */
    region: awsRegionSchema.optional(),
    /** Opt-in: force a new deployment of these services after the check, so running tasks pick up the new value. */
    rollServices: z.array(serviceRef).optional(),
  })
  .superRefine((t, ctx) => {
    t.rollServices?.forEach((s, i) => {
      for (const field of ["cluster", "service"] as const) {
        const region = ECS_ARN_REGION.exec(s[field])?.[1];
        if (region !== undefined && t.region !== undefined && region !== t.region) {
          ctx.addIssue({ code: "custom", path: ["rollServices", i, field], message: `the ARN names region ${region}, but region says ${t.region}` });
        }
      }
    });
  });

export type EcsTaskDefinitionTargetConfig = z.output<typeof ecsTaskDefinitionTargetSchema>;
