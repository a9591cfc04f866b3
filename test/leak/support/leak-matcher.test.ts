import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alignedBase64, findValue, needlesFor } from "./leak-matcher.js";

// With ~, ? and >, its base64 holds + or / at every alignment, so base64url is a form of its own.
const PASSWORD = "Zq7~pass>word?0123456789~abc>def?XYZ";

describe("the leak matcher", () => {
  it("finds a password inside a longer base64 of user:password, at each of the three alignments", () => {
    // "ab:" is 3 bytes (shift 0), "abc:" 4 (shift 1), "abcd:" 5 (shift 2).
    const shifts = new Set<string>();
    for (const username of ["ab", "abc", "abcd"]) {
      const blob = Buffer.from(`{"auths":{"h":{"auth":"x"}},"note":"${username}:${PASSWORD}","tail":true}`).toString("base64");
      const found = findValue(blob, PASSWORD);
      expect(found.map((f) => f.form)).toHaveLength(1);
      shifts.add(found[0]?.form ?? "");
      expect(blob).not.toContain(PASSWORD);
    }
    expect(shifts).toEqual(new Set(["base64@0", "base64@1", "base64@2"]));
  });

  it("finds base64url at each alignment, a docker auth string, one nested in base64, and the JSON-escaped form", () => {
    for (const prefix of ["", "x", "xy"]) {
      expect(findValue(Buffer.from(`${prefix}${PASSWORD}!`).toString("base64url"), PASSWORD).map((f) => f.form)).toEqual([`base64url@${prefix.length}`]);
    }
    const auth = Buffer.from(`pullkeeper-blue:${PASSWORD}`).toString("base64");
    expect(findValue(`{"auth":"${auth}"}`, PASSWORD, "pullkeeper-blue").map((f) => f.form)).toContain("docker-auth");
    const dockerconfigjson = Buffer.from(JSON.stringify({ auths: { "127.0.0.1:5000": { auth } } })).toString("base64");
    expect(findValue(dockerconfigjson, PASSWORD, "pullkeeper-blue").map((f) => f.form)).toEqual([expect.stringMatching(/^docker-auth-in-base64@[012]$/)]);
    const quoted = 'p"a\\ss\nword-0123456789';
    expect(findValue(JSON.stringify({ v: quoted }), quoted).map((f) => f.form)).toEqual(["json-escaped"]);
    expect(findValue(Buffer.from(`x=${PASSWORD}&y`), PASSWORD)).toEqual([{ where: "input", value: PASSWORD, form: "raw", offset: 2 }]);
  });

  it("does not match a different value, nor the same one with a byte changed in its middle", () => {
    // One byte changed in the middle: no encoding's stable part survives on both sides of it.
    const other = "Zq7~pass>word?01234X6789~abc>def?XYZ";
    for (const username of ["ab", "abc", "abcd"]) {
      const blob = `${Buffer.from(`${username}:${PASSWORD}`).toString("base64")} ${Buffer.from(`${username}:${PASSWORD}`).toString("base64url")} ${PASSWORD}`;
      expect(findValue(blob, other, username)).toEqual([]);
      expect(findValue(blob, "completely-unrelated-value-42", username)).toEqual([]);
    }
  });

  it("an aligned encoding is inside the base64 of any bytes around the value", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 20 }), (before, value, after) => {
        const whole = Buffer.concat([before, value, after]);
        for (const alphabet of ["base64", "base64url"] as const) {
          expect(whole.toString(alphabet)).toContain(alignedBase64(Buffer.from(value), before.length % 3, alphabet));
        }
      }),
      { numRuns: 500 },
    );
    expect(needlesFor(PASSWORD).map((n) => n.form)).toEqual(["raw", "percent-encoded", "base64@0", "base64@1", "base64@2", "base64url@0", "base64url@1", "base64url@2"]);
  });
});
