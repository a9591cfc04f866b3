import { modelSource } from "../../source-modules.js";
import { describe, expect, it } from "vitest";
import { harborRobotModule } from "./module.js";
import { robotOf } from "./runtime.js";
import type { HarborRobotSource } from "./source.js";
import { configProbe } from "../shared/config-probe.js";

const { parse, messages } = configProbe(harborRobotModule, { admin: "pullkeeper/harbor-admin", api: "https://harbor.example.com" });

describe("the harbor-robot source's config", () => {
  it("defaults to two system robots living 30 days, rotated weekly", () => {
    const result = parse({});
    expect(result.success && modelSource(result.data)).toEqual({
      type: "harbor-robot",
      admin: "pullkeeper/harbor-admin",
      api: "https://harbor.example.com",
      robots: ["pullkeeper-blue", "pullkeeper-green"],
      lifetime: 30 * 86_400,
      rotation: "rate(7 days)",
    });
    const project = parse({ project: "library" });
    expect(project.success && modelSource(project.data)).toMatchObject({ project: "library" });
  });

  it("needs Harbor's URL: there is no public Harbor", () => {
    expect(messages({ api: undefined })).toEqual([expect.stringMatching(/^api: /)]);
    expect(messages({ api: "file:///etc/passwd" })).toEqual([expect.stringMatching(/^api: expected Harbor's URL/)]);
  });

  it("takes two different robot names and a project name as Harbor spells them", () => {
    expect(messages({ robots: ["blue", "blue"] })).toEqual(["robots: expected two different robots to alternate between"]);
    expect(messages({ robots: ["Blue", "robot$green"] })).toEqual([expect.stringMatching(/^robots\.0: /), expect.stringMatching(/^robots\.1: /)]);
    expect(messages({ robots: ["blue"] })).not.toEqual([]);
    expect(messages({ project: "My Project" })).toEqual([expect.stringMatching(/^project: expected a Harbor project name/)]);
  });

  it("refuses a lifetime Harbor cannot hold or that would not outlive the next rotation", () => {
    expect(messages({ lifetime: "36h", rotation: "rate(12 hours)" })).toEqual(["lifetime: expected whole days (such as 30d): Harbor counts a robot's duration in days"]);
    expect(messages({ lifetime: "10d", rotation: "rate(7 days)" })).toEqual([expect.stringMatching(/^lifetime: expected at least twice the rotation interval/)]);
    expect(messages({ lifetime: "14d", rotation: "rate(7 days)" })).toEqual([]);
  });

  it("grants the rotation reading the admin secret, nothing else", () => {
    const source = parse({}).data as HarborRobotSource;
    const registry = { id: "h", host: "harbor.example.com", kind: "generic", secret: "s", source } as never;
    expect(harborRobotModule.awsPermissions?.rotation?.([registry], { secretArn: (s) => `arn:${s}` })).toEqual([{ actions: ["secretsmanager:GetSecretValue"], resources: ["arn:pullkeeper/harbor-admin"] }]);
  });
});

describe("the harbor-robot source's slots", () => {
  it("are the robots, found from a login: robot$<project>+<name>, or robot$<name> for system robots", () => {
    const system = { robots: ["pullkeeper-blue", "pullkeeper-green"] } as unknown as HarborRobotSource;
    const project = { ...system, project: "library" } as HarborRobotSource;
    expect(robotOf(project, "robot$library+pullkeeper-green")).toBe("pullkeeper-green");
    expect(robotOf(project, "robot$pullkeeper-green")).toBeUndefined();
    expect(robotOf(system, "robot$pullkeeper-blue")).toBe("pullkeeper-blue");
    expect(robotOf(system, "admin")).toBeUndefined();
  });
});
