export { type HtpasswdEfs, type HtpasswdSource, fileSystemArn, HTPASSWD_EFS_MOUNT_PATH, htpasswdSourceOf, underHtpasswdMount } from "./source.js";
import * as z from "zod";
import { schedule } from "../../config/config-fields.js";
import { type HtpasswdSource, underHtpasswdMount, fileSystemArn, HTPASSWD_EFS_MOUNT_PATH } from "./source.js";
import type { SourceModule } from "../../model/source-module.js";

const HTPASSWD_USER = /^[A-Za-z0-9._@-]{1,64}$/;

const htpasswdEfs = z.strictObject({
  fileSystem: z.string().regex(/^fs-[0-9a-f]{8,40}$/, "expected an EFS file system ID such as fs-0123456789abcdef0"),
  accessPoint: z
    .string()
    .regex(/^arn:aws[a-z-]*:elasticfilesystem:[a-z0-9-]+:\d{12}:access-point\/fsap-[0-9a-f]{8,40}$/, "expected an EFS access point ARN (arn:aws:elasticfilesystem:<region>:<account>:access-point/fsap-...)"),
  // Lambda takes up to 16 subnets and 5 security groups.
  subnets: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "expected a subnet ID such as subnet-0123456789abcdef0")).min(1, "expected the subnets the functions reach the mount targets from").max(16, "expected at most 16 subnets (a Lambda limit)"),
  securityGroups: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, "expected a security group ID such as sg-0123456789abcdef0")).min(1, "expected the functions' security groups").max(5, "expected at most 5 security groups (a Lambda limit)"),
});

const htpasswdSchema = z.strictObject({
  type: z.literal("htpasswd"),
  file: z.string().min(1, "expected the path of the registry's htpasswd file"),
  users: z
    .tuple([z.string().regex(HTPASSWD_USER, "expected a user name without ':' or spaces"), z.string().regex(HTPASSWD_USER, "expected a user name without ':' or spaces")])
    .refine(([a, b]) => a !== b, "expected two different users to alternate between")
    .default(["pullkeeper-blue", "pullkeeper-green"]),
  rotation: schedule.default("rate(1 day)"),
  serve: z.strictObject({ port: z.number().int().min(1).max(65535) }).optional(),
  /** AWS: the EFS access point the functions mount at HTPASSWD_EFS_MOUNT_PATH; `file` is then a path below it. */
  efs: htpasswdEfs.optional(),
}).superRefine((s, ctx) => {
  if (s.efs !== undefined && !underHtpasswdMount(s.file)) {
    ctx.addIssue({
      code: "custom",
      path: ["file"],
      message: `with source.efs, expected a path below ${HTPASSWD_EFS_MOUNT_PATH}/ (where the functions mount the access point), such as ${HTPASSWD_EFS_MOUNT_PATH}/<registry>/htpasswd`,
    });
  }
});

/**
 * A registry that reads its logins from an htpasswd file pullkeeper can write: two users take turns
 * (the rotation function sets the idle one's password; the revoke function retires the previous).
 */
export const htpasswdModule: SourceModule<typeof htpasswdSchema> = {
  type: "htpasswd",
  schema: htpasswdSchema,
  capabilities: { mints: false, rotates: true, managedElsewhere: false, expires: false },
  load: () => import("./runtime.js"),
  awsPermissions: {
    /**
     * Mounting the access point and writing through it (what AmazonElasticFileSystemClientReadWriteAccess
     * grants, on the file system only). ClientMount and ClientWrite authorise on the file system.
     */
    rotation(registries) {
      const fileSystems = new Set(registries.flatMap((r) => ((r.source as HtpasswdSource).efs ?? [])).map(fileSystemArn));
      return fileSystems.size > 0 ? [{ actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], resources: [...fileSystems] }] : [];
    },
  },
};
