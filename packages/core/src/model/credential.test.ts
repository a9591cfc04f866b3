import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { credential, decodeBasicToken, parseCredential, serializeCredential } from "./credential.js";

describe("credentials", () => {
  it("parses the {username,password} document CodeBuild and ECS read", () => {
    const c = parseCredential("s", JSON.stringify({ username: "robot", password: "p@ss" }));
    expect(c.username).toBe("robot");
    expect(c.password.reveal()).toBe("p@ss");
    expect(JSON.parse(serializeCredential(c))).toEqual({ username: "robot", password: "p@ss" });
  });

  it("says what is wrong with a bad secret without quoting any of it", () => {
    for (const [text, reason] of [
      ["{not json Hunter2-Secret", /does not hold valid JSON/],
      ['["Hunter2-Secret"]', /not an object/],
      ['{"username":"robot","pass":"Hunter2-Secret"}', /lacks a non-empty string password/],
      ["", /has no string value/],
      // A docker `auth` string or Basic header would split this as user "scr", password "atch:…".
      ['{"username":"scr:atch","password":"Hunter2-Secret"}', /username with a colon/],
    ] as const) {
      const error = (() => {
        try {
          parseCredential("pullkeeper/prod", text);
        } catch (e) {
          return e as Error;
        }
        throw new Error("expected a failure");
      })();
      expect(error.message).toMatch(reason);
      expect(error.message).toContain("pullkeeper/prod");
      expect(error.message).not.toContain("Hunter2");
    }
  });

  it("never prints the password through JSON, String or util.inspect", () => {
    const c = credential("robot", "Hunter2-Secret");
    expect(JSON.stringify({ c })).not.toContain("Hunter2");
    expect(`${c.password}`).toBe("[REDACTED]");
    expect(inspect({ nested: { c } }, { depth: 10 })).not.toContain("Hunter2");
  });

  it("decodes ECR's base64(AWS:<password>) token, splitting at the first colon", () => {
    const c = decodeBasicToken(Buffer.from("AWS:abc:def").toString("base64"));
    expect(c.username).toBe("AWS");
    expect(c.password.reveal()).toBe("abc:def");
  });
});
