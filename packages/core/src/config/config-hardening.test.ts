import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../model/errors.js";
import type { AheadCheck } from "./config-document.js";
import { parseConfig } from "./config.js";
import { scheduleIssues } from "./schedule-check.js";

/** Issue 15, defect 6: schedules the config took though no scheduler runs them, a YAML bomb that crashed, a NUL byte in a path. */

const registry = (source: string, settings = "") => `registries:
  - id: local
    host: 127.0.0.1:5000
    kind: generic
    source: ${source}
    secret: pullkeeper/local
${settings}`;

const refusal = (text: string, ahead?: AheadCheck): string => {
  try {
    parseConfig(text, "pullkeeper.yaml", ahead);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error("accepted");
};

describe("config hardening", () => {
  it("refuses rate schedules EventBridge refuses: zero, and a unit whose number does not agree with the value", () => {
    for (const schedule of ["rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "rate(0 days)", "rate(01 hour)"]) {
      expect(refusal(registry("{ type: managed-secret }", `settings:\n  auditSchedule: ${schedule}\n`)), schedule).toMatch(/settings\.auditSchedule/);
    }
    for (const schedule of ["rate(1 minute)", "rate(5 minutes)", "rate(1 day)", "rate(12 hours)"]) {
      expect(parseConfig(registry("{ type: managed-secret }", `settings:\n  auditSchedule: ${schedule}\n`)).settings.auditSchedule).toBe(schedule);
    }
  });

  it("refuses a cron expression that is not one, or that never fires, naming the field", () => {
    expect(refusal(registry("{ type: managed-secret }", "settings:\n  auditSchedule: cron(garbage)\n"))).toMatch(/settings\.auditSchedule: .*six fields/);
    expect(refusal(registry("{ type: managed-secret }", "settings:\n  revokeSchedule: cron(0 0 31 2 ? *)\n"))).toMatch(/settings\.revokeSchedule: .*day 31 never occurs/);
    // One that is valid but never fires again is refused ahead of time (schedule-check.test.ts), not at every parse.
    expect(refusal(registry("{ type: managed-secret }", "settings:\n  refreshSchedule: cron(0 0 1 1 ? 2020)\n"), scheduleIssues)).toMatch(/settings\.refreshSchedule: .*no occurrence after/);
    expect(refusal(registry("{ type: htpasswd, file: registry/htpasswd, rotation: cron(0 0 ? * FUNDAY *) }"))).toMatch(/registries\[0\]\.source\.rotation: /);
    expect(parseConfig(registry("{ type: managed-secret }", "settings:\n  auditSchedule: cron(0 12 ? * MON-FRI *)\n")).settings.auditSchedule).toBe("cron(0 12 ? * MON-FRI *)");
  });

  it("refuses a line nested too deeply for yaml's parser by name, not with the parser's RangeError (found by test/fuzz)", () => {
    expect(refusal(`a:\n  ${"k:  ".repeat(2000)}x\nb: y\n`)).toBe("pullkeeper.yaml is nested too deeply to read as YAML");
  });

  it("says a file with more than 100 YAML aliases is refused, with the file's name, instead of throwing the YAML library's ReferenceError", () => {
    const anchors = `x: &a [1]\n${Array.from({ length: 150 }, (_, i) => `k${i}: *a`).join("\n")}\n`;
    const message = refusal(`${registry("{ type: managed-secret }")}${anchors}`);
    expect(message).toMatch(/^pullkeeper\.yaml/);
    expect(message).toMatch(/alias/);
  });

  it("refuses a NUL byte in any string, naming where", () => {
    expect(refusal(registry('{ type: htpasswd, file: "registry/ht\\0passwd" }'))).toMatch(/registries\[0\]\.source\.file: .*NUL/);
    expect(refusal(registry('{ type: managed-secret }').replace("pullkeeper/local", '"pullkeeper/lo\\0cal"'))).toMatch(/registries\[0\]\.secret: .*NUL/);
  });
});
