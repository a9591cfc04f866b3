import { credential } from "@pullkeeper/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOG_FORMAT_ENV, localLogLine, prettyLogLine } from "./log-format.js";
import { observability } from "./observability.js";

const PASSWORD = "hunter2-s3cr3t-value";

/** What the logger writes to stdout and stderr while `run` runs. */
function captured(run: () => void): { stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  const spies = (["stdout", "stderr"] as const).map((name) =>
    vi.spyOn(process[name], "write").mockImplementation((chunk: string | Uint8Array) => {
      out[name] += String(chunk);
      return true;
    }),
  );
  try {
    run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return out;
}

afterEach(() => {
  delete process.env[LOG_FORMAT_ENV];
});

describe("prettyLogLine", () => {
  it("prints one line: time, the function's short name, the message, the fields with short names and short version IDs", () => {
    const line = prettyLogLine({
      level: "INFO",
      message: "rotation step done",
      timestamp: "2026-12-02T06:12:03.000Z",
      service: "pullkeeper-rotate",
      cold_start: false,
      function_name: "pullkeeper-rotate",
      function_request_id: "5ee3163c-b287-4dbb-a1e0-de1131115bc2",
      sampling_rate: 0,
      registryId: "local",
      step: "finishSecret",
      versionId: "ab12cd34-b287-4dbb-a1e0-de1131115bc2",
    });
    expect(line).toMatch(/^\d\d:\d\d:\d\d rotate {4}rotation step done registry=local step=finishSecret version=ab12cd34…$/);
    expect(line).not.toContain("\n");
  });

  it("shows a level other than INFO, quotes values with spaces and an error as its name and message, on one line", () => {
    const error = new Error("the registry said 401\nand more");
    const line = prettyLogLine({ level: "ERROR", message: "delivery failed\nbadly", service: "pullkeeper-deliver", consumerId: "laptop", reason: "two words", error: { name: error.name, message: error.message, stack: error.stack, location: "x" } });
    expect(line).toMatch(/ deliver {3}ERROR delivery failed badly consumer=laptop reason="two words" error="Error: the registry said 401\\nand more"$/);
    expect(line.split("\n")).toHaveLength(1);
  });

  it("never prints a credential value, whatever field it is passed in", () => {
    const line = prettyLogLine({
      message: "careless",
      service: "pullkeeper-refresh",
      password: PASSWORD,
      credential: { username: "u", password: PASSWORD },
      raw: { nested: { secretString: PASSWORD, token: PASSWORD } },
      value: PASSWORD,
      authorization: `Basic ${Buffer.from(`u:${PASSWORD}`).toString("base64")}`,
      held: credential("u", PASSWORD),
    });
    expect(line).not.toContain(PASSWORD);
    expect(line).not.toContain(Buffer.from(`u:${PASSWORD}`).toString("base64"));
    expect(line).toContain("password=[REDACTED]");
    expect(line).toContain('raw={"nested":{"secretString":"[REDACTED]","token":"[REDACTED]"}}');
  });
});

describe("the functions' logger", () => {
  it("on Lambda (no PULLKEEPER_LOG_FORMAT) prints Powertools' JSON on stdout, redacted, as before", () => {
    const { logger } = observability("pullkeeper-rotate");
    const { stdout, stderr } = captured(() => logger.info("rotation step done", { registryId: "local", password: PASSWORD }));
    expect(stderr).toBe("");
    expect(JSON.parse(stdout)).toMatchObject({ level: "INFO", message: "rotation step done", service: "pullkeeper-rotate", registryId: "local", password: "[REDACTED]" });
  });

  it("in dev prints one readable line on stderr with PULLKEEPER_LOG_FORMAT=pretty, chosen when it prints, not when it was made", () => {
    const { logger } = observability("pullkeeper-rotate");
    process.env[LOG_FORMAT_ENV] = "pretty";
    const { stdout, stderr } = captured(() => logger.info("rotation step done", { registryId: "local", credential: credential("u", PASSWORD), extra: { password: PASSWORD } }));
    expect(stdout).toBe("");
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/ rotate {4}rotation step done registry=local credential=\[REDACTED\] extra={"password":"\[REDACTED\]"}\n$/);
    expect(stderr).not.toContain(PASSWORD);
  });

  it("in dev prints one JSON line on stderr with PULLKEEPER_LOG_FORMAT=json, redacted", () => {
    const { logger } = observability("pullkeeper-deliver");
    process.env[LOG_FORMAT_ENV] = "json";
    const { stdout, stderr } = captured(() => logger.warn("delivery", { consumerId: "laptop", token: PASSWORD }));
    expect(stdout).toBe("");
    expect(JSON.parse(stderr)).toMatchObject({ level: "WARN", message: "delivery", consumerId: "laptop", token: "[REDACTED]" });
    expect(stderr).not.toContain(PASSWORD);
  });
});

describe("localLogLine", () => {
  it("wraps the runtime's own lines: JSON with a timestamp, or the local time before the text", () => {
    const at = new Date("2026-12-02T06:12:03.000Z");
    expect(JSON.parse(localLogLine("json", "registry local: rotated", at))).toEqual({ timestamp: at.toISOString(), service: "pullkeeper-dev", message: "registry local: rotated" });
    expect(localLogLine("pretty", "registry local: rotated", at)).toMatch(/^\d\d:\d\d:\d\d registry local: rotated$/);
  });
});
