import { credential, InvalidCredentialError, NotFoundError, PullkeeperError, type Vault } from "@pullkeeper/core";
import { describe, expect, it } from "vitest";

/** What a vault adapter must give the contract suite besides itself. */
export interface VaultFixture {
  readonly vault: Vault;
  /** Creates a secret whose current value is `raw` (none at all when undefined); returns its id. */
  seed(raw?: string): Promise<string>;
  /** VersionId → staging labels, sorted. */
  stages(secretId: string): Promise<Record<string, string[]>>;
}

const OLD = credential("robot", "old-password-4d1f");
const NEW = credential("robot", "new-password-9a7c");
const json = (username: string, password: string) => JSON.stringify({ username, password });
const TOKEN_A = "0b7c2d1e-0000-8000-a000-00000000000a";
const TOKEN_B = "0b7c2d1e-0000-8000-a000-00000000000b";

const holder = (stages: Record<string, string[]>, stage: string) => Object.entries(stages).find(([, s]) => s.includes(stage))?.[0];

/** The same cases for every Vault adapter: Secrets Manager's semantics, as pullkeeper relies on them. */
export function describeVaultContract(name: string, setup: () => Promise<VaultFixture>): void {
  describe(`Vault contract: ${name}`, () => {
    it("reads the current credential by stage and by VersionId", async () => {
      const f = await setup();
      const id = await f.seed(json("robot", "old-password-4d1f"));
      const current = await f.vault.read(id, { stage: "AWSCURRENT" });
      expect(current.credential.username).toBe("robot");
      expect(current.credential.password.reveal()).toBe("old-password-4d1f");
      expect(current.stages).toContain("AWSCURRENT");
      expect(current.arn).toMatch(/^arn:/);
      const byVersion = await f.vault.read(id, { versionId: current.versionId });
      expect(byVersion.credential.password.equals(current.credential.password)).toBe(true);
    });

    it("stages a new value as AWSPENDING without touching AWSCURRENT", async () => {
      const f = await setup();
      const id = await f.seed(json("robot", "old-password-4d1f"));
      const before = await f.stages(id);
      const staged = await f.vault.stagePending(id, NEW, TOKEN_A);
      expect(staged.outcome).toBe("created");
      expect(staged.versionId).toBe(TOKEN_A);
      const after = await f.stages(id);
      expect(holder(after, "AWSPENDING")).toBe(TOKEN_A);
      expect(holder(after, "AWSCURRENT")).toBe(holder(before, "AWSCURRENT"));
      expect((await f.vault.read(id, { stage: "AWSPENDING" })).credential.password.reveal()).toBe("new-password-9a7c");
    });

    it("treats a retry with the same request token as a no-op", async () => {
      const f = await setup();
      const id = await f.seed(json("robot", "old-password-4d1f"));
      await f.vault.stagePending(id, NEW, TOKEN_A);
      const before = await f.stages(id);
      const again = await f.vault.stagePending(id, NEW, TOKEN_A);
      expect(again).toMatchObject({ versionId: TOKEN_A, outcome: "existing" });
      expect(await f.stages(id)).toEqual(before);
    });

    it("rejects the same request token with another value", async () => {
      const f = await setup();
      const id = await f.seed(json("robot", "old-password-4d1f"));
      await f.vault.stagePending(id, NEW, TOKEN_A);
      await expect(f.vault.stagePending(id, credential("robot", "third-password"), TOKEN_A)).rejects.toMatchObject({ code: "request_token_conflict" });
    });

    it("writes nothing when the value equals AWSCURRENT's", async () => {
      const f = await setup();
      const id = await f.seed(json("robot", "old-password-4d1f"));
      const before = await f.stages(id);
      const staged = await f.vault.stagePending(id, OLD, TOKEN_A);
      expect(staged.outcome).toBe("unchanged");
      expect(staged.versionId).toBe(holder(before, "AWSCURRENT"));
      expect(await f.stages(id)).toEqual(before);
    });

    it("writes the first value of a secret that has none, which Secrets Manager makes AWSCURRENT at once", async () => {
      const f = await setup();
      const id = await f.seed(undefined);
      const staged = await f.vault.stagePending(id, NEW, TOKEN_A);
      expect(staged.outcome).toBe("created");
      expect((await f.stages(id))[TOKEN_A]).toEqual(["AWSCURRENT", "AWSPENDING"]);
      await f.vault.promote(id, staged.versionId);
      expect((await f.vault.read(id, { stage: "AWSCURRENT" })).versionId).toBe(TOKEN_A);
    });

    it("promotes: AWSCURRENT moves, the old one becomes AWSPREVIOUS, AWSPENDING is cleared", async () => {
      const f = await setup();
      const id = await f.seed(json("robot", "old-password-4d1f"));
      const oldId = holder(await f.stages(id), "AWSCURRENT");
      await f.vault.stagePending(id, NEW, TOKEN_A);
      await f.vault.promote(id, TOKEN_A);
      const stages = await f.stages(id);
      expect(holder(stages, "AWSCURRENT")).toBe(TOKEN_A);
      expect(holder(stages, "AWSPREVIOUS")).toBe(oldId);
      expect(holder(stages, "AWSPENDING")).toBeUndefined();
      expect((await f.vault.read(id, { stage: "AWSCURRENT" })).credential.password.reveal()).toBe("new-password-9a7c");
      expect((await f.vault.read(id, { stage: "AWSPREVIOUS" })).credential.password.reveal()).toBe("old-password-4d1f");
    });

    it("promoting the current version again changes nothing", async () => {
      const f = await setup();
      const id = await f.seed(json("robot", "old-password-4d1f"));
      await f.vault.stagePending(id, NEW, TOKEN_A);
      await f.vault.promote(id, TOKEN_A);
      const before = await f.stages(id);
      await f.vault.promote(id, TOKEN_A);
      expect(await f.stages(id)).toEqual(before);
    });

    it("refuses to promote a version that does not exist", async () => {
      const f = await setup();
      const id = await f.seed(json("robot", "old-password-4d1f"));
      await expect(f.vault.promote(id, TOKEN_B)).rejects.toBeInstanceOf(NotFoundError);
    });

    it("says a secret holding invalid JSON is not a registry login, without quoting it, and writes nothing", async () => {
      const f = await setup();
      const id = await f.seed("not-json-but-a-Secret-Value-77");
      const before = await f.stages(id);
      const error = await f.vault.stagePending(id, NEW, TOKEN_A).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidCredentialError);
      expect((error as Error).message).toMatch(/does not hold valid JSON/);
      expect((error as Error).message).not.toContain("Secret-Value-77");
      expect(await f.stages(id)).toEqual(before);
    });

    it("says which field a secret without username/password lacks", async () => {
      const f = await setup();
      const id = await f.seed(JSON.stringify({ user: "robot", token: "abc-Secret-Token-91" }));
      const error = await f.vault.read(id, { stage: "AWSCURRENT" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidCredentialError);
      expect((error as Error).message).toMatch(/lacks a non-empty string username and password/);
      expect((error as Error).message).not.toContain("Secret-Token-91");
    });

    it("reports an unknown secret as not found", async () => {
      const f = await setup();
      const error = await f.vault.read("pullkeeper/does-not-exist-0c1d", { stage: "AWSCURRENT" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PullkeeperError);
      expect((error as PullkeeperError).code).toBe("not_found");
    });
  });
}
