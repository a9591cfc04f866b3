import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-issues.js";
import { parseConfig } from "./config.js";
import { longestGapSeconds, scheduleIssues } from "./schedule-check.js";

/**
 * The checks that take a schedule's runs, made ahead of time (validate, dev, the deploy) instead
 * of at every parse: a Lambda parses the config at each cold start and must not walk a year of a
 * cron's runs there (issue 15, benchmark 2). Each refusal here was the parse's before.
 */

const dockerhub = (source: string, settings = "") => `registries:
  - id: hub
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: dockerhub-token, admin: pullkeeper/hub-admin, ${source} }
    secret: pullkeeper/hub
${settings}`;

/** The issues the ahead-of-time check refuses `text` with, as `path: message` (the parse alone must take it). */
function aheadIssues(text: string): string[] {
  expect(() => parseConfig(text)).not.toThrow();
  try {
    parseConfig(text, "pullkeeper.yaml", scheduleIssues);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((issue) => issue.replace(/^pullkeeper\.yaml:\d+:\d+ /, ""));
  }
  return [];
}

describe("a cron rotation's longest gap, checked ahead of time", () => {
  it("needs tokens living two months for a monthly rotation", () => {
    expect(aheadIssues(dockerhub("lifetime: 30d, rotation: cron(0 3 1 * ? *)"))).toEqual([expect.stringMatching(/^registries\[0\]\.source\.lifetime: expected at least twice the longest gap between the rotation's runs \(744 h\)/)]);
    expect(aheadIssues(dockerhub("lifetime: 62d, rotation: cron(0 3 1 * ? *)"))).toEqual([]);
  });

  it("counts the weekend in a weekdays-only rotation: the longest gap is three days", () => {
    expect(aheadIssues(dockerhub("lifetime: 5d, rotation: cron(0 3 ? * MON-FRI *)"))).toEqual([expect.stringMatching(/\(72 h\)/)]);
    expect(aheadIssues(dockerhub("lifetime: 6d, rotation: cron(0 3 ? * MON-FRI *)"))).toEqual([]);
  });

  it("measures the gap over the year from now, a rate's as its interval", () => {
    expect(longestGapSeconds("cron(0 3 1 * ? *)", new Date("2024-01-15T00:00:00Z"))).toBe(31 * 86_400);
    expect(longestGapSeconds("rate(7 days)")).toBe(7 * 86_400);
    expect(longestGapSeconds("cron(0 0 29 2 ? 2025)")).toBeUndefined();
  });
});

describe("a schedule that never fires again, refused ahead of time", () => {
  it("names the setting whose Year field is past", () => {
    expect(aheadIssues(dockerhub("lifetime: 30d", "settings:\n  refreshSchedule: cron(0 0 1 1 ? 2020)\n"))).toEqual([expect.stringMatching(/^settings\.refreshSchedule: .*no occurrence after/)]);
  });

  it("names a rotation that matches no date: 29 February in a year that has none", () => {
    expect(aheadIssues(dockerhub("lifetime: 30d, rotation: cron(0 0 29 2 ? 2025)"))).toEqual([expect.stringMatching(/^registries\[0\]\.source\.rotation: .*never fires/)]);
  });

  it("takes the same schedules once they fire again, `now` being the check's", () => {
    const text = dockerhub("lifetime: 400d, rotation: cron(0 0 1 1 ? 2030)", "settings:\n  auditSchedule: cron(0 12 ? * MON-FRI 2030)\n");
    expect(aheadIssues(text)).toEqual([]);
    expect(scheduleIssues(parseConfig(text), new Date("2031-01-01T00:00:00Z")).map((i) => i.path.join("."))).toEqual(["settings.auditSchedule", "registries.0.source.rotation"]);
  });
});
