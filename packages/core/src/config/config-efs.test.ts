import { describe, expect, it } from "vitest";
import { validateConfig } from "./config-document.js";
import { HTPASSWD_EFS_MOUNT_PATH, underHtpasswdMount } from "./config-schema.js";
import { InvalidInputError } from "../model/errors.js";

/** An htpasswd registry's `source.efs` (where its file lives on AWS) and the file path it constrains. */
const efs = {
  fileSystem: "fs-0123456789abcdef0",
  accessPoint: "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0",
  subnets: ["subnet-0123456789abcdef0", "subnet-abcdef01"],
  securityGroups: ["sg-0123456789abcdef0"],
};

const withSource = (source: Record<string, unknown>) => ({
  registries: [{ id: "harbor", host: "harbor.example.com", kind: "generic", source: { type: "htpasswd", ...source }, secret: "pullkeeper/harbor" }],
});

const issuesOf = (doc: unknown): readonly string[] => {
  try {
    validateConfig(doc);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError & { issues: readonly string[] }).issues;
  }
  throw new Error("expected the config to be refused");
};

describe("htpasswd source.efs", () => {
  it("keeps source.efs as written, with the file below the mount path", () => {
    const config = validateConfig(withSource({ file: "/mnt/htpasswd/harbor/htpasswd", efs }));
    expect(config.registries[0]?.source).toEqual({
      type: "htpasswd",
      file: "/mnt/htpasswd/harbor/htpasswd",
      users: ["pullkeeper-blue", "pullkeeper-green"],
      rotation: "rate(1 day)",
      efs,
    });
    expect(HTPASSWD_EFS_MOUNT_PATH).toBe("/mnt/htpasswd");
  });

  it("is optional: the embedded runtime needs none, and then the file may be anywhere", () => {
    const config = validateConfig(withSource({ file: "registry/htpasswd" }));
    expect(config.registries[0]?.source).not.toHaveProperty("efs");
  });

  it.each(["/srv/registry/htpasswd", "/mnt/htpasswd", "/mnt/htpasswd/", "/mnt/htpasswdx/htpasswd", "/mnt/htpasswd/../etc/htpasswd", "/mnt/htpasswd/./htpasswd", "/mnt/htpasswd//htpasswd", "mnt/htpasswd/htpasswd"])(
    "with source.efs, refuses the file %s, naming registries[0].source.file",
    (file) => {
      expect(issuesOf(withSource({ file, efs }))).toEqual([
        "registries[0].source.file: with source.efs, expected a path below /mnt/htpasswd/ (where the functions mount the access point), such as /mnt/htpasswd/<registry>/htpasswd",
      ]);
    },
  );

  it("names every bad field of source.efs by its path", () => {
    const bad = { fileSystem: "fsap-01234567", accessPoint: "fsap-0123456789abcdef0", subnets: ["subnet-XYZ"], securityGroups: [], extra: true };
    expect(issuesOf(withSource({ file: "/mnt/htpasswd/harbor/htpasswd", efs: bad }))).toEqual([
      "registries[0].source.efs.fileSystem: expected an EFS file system ID such as fs-0123456789abcdef0",
      "registries[0].source.efs.accessPoint: expected an EFS access point ARN (arn:aws:elasticfilesystem:<region>:<account>:access-point/fsap-...)",
      "registries[0].source.efs.subnets[0]: expected a subnet ID such as subnet-0123456789abcdef0",
      "registries[0].source.efs.securityGroups: expected the functions' security groups",
      'registries[0].source.efs.extra: unknown key "extra"',
    ]);
  });

  it("keeps to Lambda's limits: at most 16 subnets and 5 security groups", () => {
    const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(8, "0")}`);
    expect(issuesOf(withSource({ file: "/mnt/htpasswd/h", efs: { ...efs, subnets: many("subnet", 17), securityGroups: many("sg", 6) } }))).toEqual([
      "registries[0].source.efs.subnets: expected at most 16 subnets (a Lambda limit)",
      "registries[0].source.efs.securityGroups: expected at most 5 security groups (a Lambda limit)",
    ]);
  });

  it("underHtpasswdMount: a path below the mount, without empty, '.' or '..' segments", () => {
    expect(underHtpasswdMount("/mnt/htpasswd/htpasswd")).toBe(true);
    expect(underHtpasswdMount("/mnt/htpasswd/a/b/htpasswd")).toBe(true);
    expect(underHtpasswdMount("/mnt/htpasswd/a/../htpasswd")).toBe(false);
    expect(underHtpasswdMount("/mnt/other/htpasswd")).toBe(false);
  });
});
