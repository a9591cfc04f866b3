import { modelSource } from "../../source-modules.js";
import { describe, expect, it } from "vitest";
import { quayRobotModule } from "./module.js";
import { configProbe } from "../shared/config-probe.js";

const { parse, messages } = configProbe(quayRobotModule, { admin: "pullkeeper/quay-admin" });

describe("the quay-robot source's config", () => {
  it("defaults to two robots rotated weekly, against quay.io", () => {
    const result = parse({ organization: "acme" });
    expect(result.success && modelSource(result.data)).toEqual({
      type: "quay-robot",
      admin: "pullkeeper/quay-admin",
      organization: "acme",
      robots: ["pullkeeper_blue", "pullkeeper_green"],
      rotation: "rate(7 days)",
      api: "https://quay.io",
    });
    expect(quayRobotModule.capabilities).toEqual({ mints: false, rotates: true, managedElsewhere: false, expires: false });
  });

  it("takes a user's robots instead of an organization's, but exactly one of the two", () => {
    const result = parse({ user: "alice", robots: ["pk_a", "pk_b"], api: "https://quay.example.com" });
    expect(result.success && modelSource(result.data)).toMatchObject({ user: "alice", robots: ["pk_a", "pk_b"], api: "https://quay.example.com" });
    expect(messages({})).toEqual([expect.stringMatching(/^organization: expected exactly one of organization .* and user/)]);
    expect(messages({ organization: "acme", user: "alice" })).toEqual([expect.stringMatching(/^organization: expected exactly one/)]);
  });

  it("refuses robot short names Quay refuses, and one robot twice", () => {
    expect(messages({ organization: "acme", robots: ["Blue", "pk-green"] })).toEqual([expect.stringMatching(/^robots\.0: expected a Quay robot short name/), expect.stringMatching(/^robots\.1: expected a Quay robot short name/)]);
    expect(messages({ organization: "acme", robots: ["acme+blue", "b"] })).toHaveLength(2);
    expect(messages({ organization: "acme", robots: ["pk_blue", "pk_blue"] })).toEqual(["robots: expected two different robots to alternate between"]);
    expect(messages({ organization: "acme", robots: ["pk_blue"] })).toHaveLength(1);
  });

  it("refuses namespaces Quay refuses", () => {
    expect(messages({ organization: "Acme" })).toEqual([expect.stringMatching(/^organization: expected a Quay namespace/)]);
    expect(messages({ user: "a" })).toEqual([expect.stringMatching(/^user: expected a Quay namespace/)]);
    expect(messages({ organization: "acme--corp" })).toHaveLength(1);
    expect(messages({ organization: "acme.corp_2" })).toEqual([]);
  });

  it("takes an http(s) base URL, without /api/v1, and no lifetime (robot tokens do not expire)", () => {
    expect(messages({ organization: "acme", api: "file:///etc/passwd" })).toEqual([expect.stringMatching(/^api: /)]);
    expect(messages({ organization: "acme", api: "https://quay.io/api/v1" })).toEqual(["api: expected Quay's base URL without /api/v1, such as https://quay.io"]);
    expect(messages({ organization: "acme", lifetime: "30d" })).toEqual([expect.stringMatching(/lifetime/)]);
  });
});
