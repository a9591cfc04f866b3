import { credential } from "@pullkeeper/core";
import { describe, expect, it } from "vitest";
import { HmacFingerprinter } from "./fingerprint.js";

const key = Buffer.alloc(32, 7);

describe("HmacFingerprinter", () => {
  it("is stable for the same value and key, and differs across values, keys and secrets", () => {
    const fp = new HmacFingerprinter(key);
    const a = credential("AWS", "password-a");
    expect(fp.fingerprint(a)).toBe(fp.fingerprint(credential("AWS", "password-a")));
    expect(fp.fingerprint(a)).not.toBe(fp.fingerprint(credential("AWS", "password-b")));
    expect(fp.fingerprint(a)).not.toBe(new HmacFingerprinter(Buffer.alloc(32, 8)).fingerprint(a));
    expect(fp.requestToken("s1", a)).toBe(fp.requestToken("s1", a));
    expect(fp.requestToken("s1", a)).not.toBe(fp.requestToken("s2", a));
  });

  it("makes request tokens Secrets Manager accepts (32–64 chars) that reveal nothing of the value", () => {
    const fp = new HmacFingerprinter(key);
    const token = fp.requestToken("pullkeeper/prod", credential("AWS", "password-a"));
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(fp.fingerprint(credential("AWS", "password-a"))).not.toContain("password");
  });

  it("refuses a short key", () => {
    expect(() => new HmacFingerprinter(Buffer.alloc(16))).toThrow(/at least 32 bytes/);
  });
});
