import { modelSource } from "../../source-modules.js";
import { describe, expect, it } from "vitest";
import { dockerHubTokenModule } from "./module.js";
import { configProbe } from "../shared/config-probe.js";

const { parse, messages } = configProbe(dockerHubTokenModule, { admin: "pullkeeper/hub-admin" });

describe("the dockerhub-token source's config", () => {
  it("defaults to 30-day tokens rotated weekly, against hub.docker.com", () => {
    const result = parse({ organization: "acme" });
    expect(result.success && modelSource(result.data)).toEqual({ type: "dockerhub-token", admin: "pullkeeper/hub-admin", organization: "acme", lifetime: 30 * 86_400, rotation: "rate(7 days)", api: "https://hub.docker.com" });
  });

  it("refuses a lifetime that would not outlive the next rotation and its overlap", () => {
    expect(messages({ lifetime: "10d", rotation: "rate(7 days)" })).toEqual(["lifetime: expected at least twice the rotation interval (rate(7 days)), so a credential is replaced by half its life and outlives the overlap before its revocation"]);
    expect(messages({ lifetime: "12h", rotation: "rate(1 hour)" })).toEqual(["lifetime: expected at least 1d: a credential must outlive its delivery and its overlap"]);
    expect(messages({ lifetime: "14d", rotation: "rate(7 days)" })).toEqual([]);
  });

  it("leaves a cron rotation's longest gap to the check ahead of time (config/schedule-check.test.ts), but not its syntax", () => {
    expect(messages({ lifetime: "30d", rotation: "cron(0 3 1 * ? *)" })).toEqual([]);
    expect(messages({ lifetime: "30d", rotation: "cron(0 3 31 2 ? *)" })).toEqual([expect.stringMatching(/^rotation: .*day 31 never occurs/)]);
  });

  it("scopes repositories to an organization's token, inside that organization", () => {
    expect(messages({ repositories: ["acme/app"] })).toEqual([expect.stringMatching(/^repositories: .*set organization/)]);
    expect(messages({ organization: "acme", repositories: ["other/app", "acme/*", "*/*/public"] })).toEqual(['repositories.0: "other/app" is not in organization acme']);
    expect(messages({ organization: "Acme!" })).toEqual([expect.stringMatching(/^organization: /)]);
  });

  it("takes an http(s) API base URL only", () => {
    expect(messages({ api: "file:///etc/passwd" })).toEqual([expect.stringMatching(/^api: /)]);
  });
});
