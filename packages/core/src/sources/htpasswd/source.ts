import type { Registry, RegistrySource } from "../../model/model.js";

/**
 * A self-hosted registry that authenticates from an htpasswd file: pullkeeper rotates its
 * password by alternating two users, so the old login keeps working until the new one is live.
 */
export interface HtpasswdSource extends RegistrySource {
  readonly type: "htpasswd";
  readonly file: string;
  readonly users: readonly [string, string];
  /** Rotation schedule, rate(...) or cron(...). */
  readonly rotation: string;
  /** Embedded runtime only: start a docker-registry on 127.0.0.1:<port> serving this htpasswd. */
  readonly serve?: { readonly port: number };
  /** AWS only: the EFS access point the rotation and revoke functions mount (at HTPASSWD_EFS_MOUNT_PATH) to write `file`. */
  readonly efs?: HtpasswdEfs;
}

/** Where the htpasswd file lives on AWS: an EFS access point, reached from these subnets with these security groups. */
export interface HtpasswdEfs {
  /** File system ID (fs-...): the IAM resource of the functions' mount and write. */
  readonly fileSystem: string;
  /** Access point ARN (arn:<partition>:elasticfilesystem:<region>:<account>:access-point/fsap-...). */
  readonly accessPoint: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
}

/** The registry's htpasswd source, or undefined for a registry of another source (the embedded runtime serves only these). */
export function htpasswdSourceOf(registry: Pick<Registry, "source">): HtpasswdSource | undefined {
  return registry.source.type === "htpasswd" ? (registry.source as HtpasswdSource) : undefined;
}

/** Where the rotation and revoke functions mount an htpasswd registry's EFS access point on AWS (Lambda mounts under /mnt/). */
export const HTPASSWD_EFS_MOUNT_PATH = "/mnt/htpasswd";

/** A file the functions reach through the mount: an absolute path below it, without "." or ".." segments. */
export function underHtpasswdMount(file: string): boolean {
  const rest = file.startsWith(`${HTPASSWD_EFS_MOUNT_PATH}/`) ? file.slice(HTPASSWD_EFS_MOUNT_PATH.length + 1) : undefined;
  return rest !== undefined && rest.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

/** The EFS file system of the access point: same partition, region and account as the access point's ARN. */
export function fileSystemArn(efs: HtpasswdEfs): string {
  const [, partition, , region, account] = efs.accessPoint.split(":");
  return `arn:${partition}:elasticfilesystem:${region}:${account}:file-system/${efs.fileSystem}`;
}
