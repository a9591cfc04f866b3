import { SecretValue } from "@pullkeeper/core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HtpasswdFile } from "./htpasswd-file.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("HtpasswdFile", () => {
  it("serialises changes to one file across instances, so concurrent writers lose nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pullkeeper-htpasswd-"));
    dirs.push(dir);
    const path = join(dir, "htpasswd");
    const users = Array.from({ length: 6 }, (_, i) => `user-${i}`);
    await Promise.all(users.map((u) => new HtpasswdFile(path, { cost: 4 }).setPassword(u, new SecretValue(`pw-${u}`))));
    const file = new HtpasswdFile(path, { cost: 4 });
    expect((await file.users()).sort()).toEqual(users);
    expect(await file.check("user-3", "pw-user-3")).toBe(true);
    await file.retire("user-3");
    expect(await file.users()).not.toContain("user-3");
  });
});
