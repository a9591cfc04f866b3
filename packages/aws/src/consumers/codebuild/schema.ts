import * as z from "zod";
import { awsRegionSchema } from "../shared/common.js";

const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/;
const PROJECT_ARN = /^arn:aws[a-z-]*:codebuild:([a-z0-9-]+):\d{12}:project\/([A-Za-z0-9][A-Za-z0-9_-]{1,254})$/;

/** The region a project ARN names, if `project` is one. */
export function codeBuildProjectArnRegion(project: string): string | undefined {
  return PROJECT_ARN.exec(project)?.[1];
}

/**
 * A consumer of kind `codebuild-project`: a CodeBuild project whose
 * `environment.registryCredential` must reference the registry's secret.
 */
export const codeBuildProjectTargetSchema = z
  .strictObject({
    kind: z.literal("codebuild-project"),
    /** The project's name, or its full ARN. */
    project: z.string().refine((p) => PROJECT_NAME.test(p) || PROJECT_ARN.test(p), "expected a CodeBuild project name or ARN (arn:aws:codebuild:<region>:<account>:project/<name>)"),
    /** Where the project lives; default: the region of its ARN, else the region of the registry's secret. */
    region: awsRegionSchema.optional(),
    /** Let pullkeeper set registryCredential and imagePullCredentialsType itself (UpdateProject). Never touches roles. */
    fixWiring: z.boolean().default(false),
  })
  .superRefine((t, ctx) => {
    const arnRegion = codeBuildProjectArnRegion(t.project);
    if (arnRegion !== undefined && t.region !== undefined && arnRegion !== t.region) {
      ctx.addIssue({ code: "custom", path: ["region"], message: `the project ARN names region ${arnRegion}, but region says ${t.region}` });
    }
  });

export type CodeBuildProjectTargetConfig = z.output<typeof codeBuildProjectTargetSchema>;
