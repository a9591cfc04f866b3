import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.js";
import { InvalidInputError } from "../model/errors.js";

const withTimezone = (timezone?: string) => `
registries:
  - id: prod-ecr
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "123456789012", region: eu-west-1 }
    secret: pullkeeper/prod-ecr
${timezone === undefined ? "" : `settings: { refreshSchedule: "cron(0 3 * * ? *)", timezone: ${JSON.stringify(timezone)} }\n`}`;

function issues(text: string): readonly string[] {
  try {
    parseConfig(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).issues;
  }
  throw new Error("expected the config to be rejected");
}

describe("settings.timezone (the cron() schedules' time zone on AWS)", () => {
  it("defaults to UTC", () => {
    expect(parseConfig(withTimezone()).settings.timezone).toBe("UTC");
  });

  it.each(["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Etc/GMT+5"])("takes the IANA name %s", (timezone) => {
    expect(parseConfig(withTimezone(timezone)).settings.timezone).toBe(timezone);
  });

  it.each([
    ["Mars/Olympus_Mons", /(?:^| )settings\.timezone: expected an IANA time zone such as "UTC" or "Europe\/Berlin", got "Mars\/Olympus_Mons"$/],
    ["+01:00", /(?:^| )settings\.timezone: expected an IANA time zone/],
    ["", /(?:^| )settings\.timezone: expected an IANA time zone/],
    [" UTC", /(?:^| )settings\.timezone: expected an IANA time zone/],
    ["europe/berlin", /(?:^| )settings\.timezone: write the time zone as "Europe\/Berlin"$/],
  ])("rejects %j with the setting named", (timezone, expected) => {
    const found = issues(withTimezone(timezone));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(expected);
  });
});
