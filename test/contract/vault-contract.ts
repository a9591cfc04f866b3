import { credential, InvalidCredentialError, NotFoundError, PullkeeperError, type Vault } from "@pullkeeper/core";
import { describe, expect, it } from "vitest";

/** What a vault adapter must give the contract suite besides itself. */
export interface VaultFixture {
  readonly vault: Vault;
  /** Creates a secret whose current value is `raw` (none at all when undefined); returns its id. */
  seed(raw?: string): Promise<string>;
  /** VersionId → staging labels, sorted. */
  stages(secretId: string): Promise<Record<string, string[]>>;
  /**
   * Puts the secret in the state Secrets Manager's RotateSecret leaves before the first rotation
   * step: `token` labelled AWSPENDING with no value, writes to it expected to carry
   * `rotationToken`. Absent where the adapter cannot make that state (against a real endpoint it
   * takes a rotation Lambda); the cases that need it are then skipped.
   */
  beginRotation?(secretId: string, token: string, rotationToken: string): Promise<void>;
  /** The RotationToken each value write of `versionId` carried (undefined: none), in order; where observable. */
  rotationTokensWritten?(secretId: string, versionId: string): Promise<(string | undefined)[]>;
  /** Gives every version written from now on the same createdAt, where the adapter's clock can be set. */
  freezeClock?(at: Date): void;
}

const OLD = credential("robot", "old-password-4d1f");
const NEW = credential("robot", "new-password-9a7c");
const json = (username: string, password: string) => JSON.stringify({ username, password });
const TOKEN_A = "0b7c2d1e-0000-8000-a000-00000000000a";
const TOKEN_B = "0b7c2d1e-0000-8000-a000-00000000000b";
const ROTATION_TOKEN = "6f1d9a2c-rotation-token-0000-00000000r07a";
const NO_ROTATION_STATE = "the adapter cannot create a rotation's valueless AWSPENDING version (no beginRotation hook; on a real endpoint that takes RotateSecret with a rotation Lambda)";

const holder = (stages: Record<string, string[]>, stage: string) => Object.entries(stages).find(([, s]) => s.includes(stage))?.[0];

/** The same cases for every Vault adapter: Secrets Manager's semantics, as pullkeeper relies on them. */
export function describeVaultContract(name: string, setup: () => Promise<VaultFixture>): void {
  /** A fresh fixture and a secret whose AWSCURRENT is OLD. */
  const withOld = async () => {
    const f = await setup();
    return { f, id: await f.seed(json("robot", "old-password-4d1f")) };
  };
  /**
   * A secret whose AWSCURRENT is OLD (oldId) and a rotation begun on it: TOKEN_A labelled
   * AWSPENDING without a value. Skips the test where the adapter cannot make that state.
   */
  const rotating = async (ctx: { skip(note?: string): never }) => {
    const f = await setup();
    if (f.beginRotation === undefined) ctx.skip(NO_ROTATION_STATE);
    const id = await f.seed(json("robot", "old-password-4d1f"));
    const oldId = holder(await f.stages(id), "AWSCURRENT");
    await f.beginRotation(id, TOKEN_A, ROTATION_TOKEN);
    return { f, id, oldId };
  };

  describe(`Vault contract: ${name}`, () => {
    it("reads the current credential by stage and by VersionId", async () => {
      const { f, id } = await withOld();
      const current = await f.vault.read(id, { stage: "AWSCURRENT" });
      expect(current.credential.username).toBe("robot");
      expect(current.credential.password.reveal()).toBe("old-password-4d1f");
      expect(current.stages).toContain("AWSCURRENT");
      expect(current.arn).toMatch(/^arn:/);
      const byVersion = await f.vault.read(id, { versionId: current.versionId });
      expect(byVersion.credential.password.equals(current.credential.password)).toBe(true);
    });

    it("stages a new value as AWSPENDING without touching AWSCURRENT", async () => {
      const { f, id } = await withOld();
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
      const { f, id } = await withOld();
      await f.vault.stagePending(id, NEW, TOKEN_A);
      const before = await f.stages(id);
      const again = await f.vault.stagePending(id, NEW, TOKEN_A);
      expect(again).toMatchObject({ versionId: TOKEN_A, outcome: "existing" });
      expect(await f.stages(id)).toEqual(before);
    });

    it("rejects the same request token with another value", async () => {
      const { f, id } = await withOld();
      await f.vault.stagePending(id, NEW, TOKEN_A);
      await expect(f.vault.stagePending(id, credential("robot", "third-password"), TOKEN_A)).rejects.toMatchObject({ code: "request_token_conflict" });
    });

    it("writes nothing when the value equals AWSCURRENT's", async () => {
      const { f, id } = await withOld();
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
      const { f, id } = await withOld();
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
      const { f, id } = await withOld();
      await f.vault.stagePending(id, NEW, TOKEN_A);
      await f.vault.promote(id, TOKEN_A);
      const before = await f.stages(id);
      await f.vault.promote(id, TOKEN_A);
      expect(await f.stages(id)).toEqual(before);
    });

    it("putCurrent writes a value as AWSCURRENT in one write: the old one becomes AWSPREVIOUS, nothing is left AWSPENDING", async () => {
      const { f, id } = await withOld();
      const oldId = holder(await f.stages(id), "AWSCURRENT");
      const written = await f.vault.putCurrent(id, NEW, TOKEN_A);
      expect(written).toMatchObject({ versionId: TOKEN_A, outcome: "created" });
      const stages = await f.stages(id);
      expect(stages[TOKEN_A]).toEqual(["AWSCURRENT"]);
      expect(holder(stages, "AWSPREVIOUS")).toBe(oldId);
      expect(holder(stages, "AWSPENDING")).toBeUndefined();
      expect((await f.vault.read(id, { stage: "AWSCURRENT" })).credential.password.reveal()).toBe("new-password-9a7c");
    });

    it("putCurrent: the same token again is a no-op, the current value again writes nothing, another value under the token is refused", async () => {
      const { f, id } = await withOld();
      const unchanged = await f.vault.putCurrent(id, OLD, TOKEN_B);
      expect(unchanged).toMatchObject({ versionId: holder(await f.stages(id), "AWSCURRENT"), outcome: "unchanged" });
      await f.vault.putCurrent(id, NEW, TOKEN_A);
      const before = await f.stages(id);
      expect(await f.vault.putCurrent(id, NEW, TOKEN_A)).toMatchObject({ versionId: TOKEN_A, outcome: "existing" });
      expect(await f.stages(id)).toEqual(before);
      await expect(f.vault.putCurrent(id, credential("robot", "third-password"), TOKEN_A)).rejects.toMatchObject({ code: "request_token_conflict" });
    });

    it("putCurrent never gives a value to a rotation's valueless AWSPENDING version", async (ctx) => {
      const { f, id, oldId } = await rotating(ctx);
      await expect(f.vault.putCurrent(id, NEW, TOKEN_A)).rejects.toMatchObject({ code: "version_not_pending" });
      const stages = await f.stages(id);
      expect(holder(stages, "AWSCURRENT")).toBe(oldId);
      expect(stages[TOKEN_A]).toEqual(["AWSPENDING"]);
    });

    it("refuses to promote a version that does not exist", async () => {
      const { f, id } = await withOld();
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

    it("completes the valueless AWSPENDING version a rotation started, and promotes it", async (ctx) => {
      const { f, id, oldId } = await rotating(ctx);
      expect(await f.stages(id)).toEqual({ [oldId as string]: ["AWSCURRENT"], [TOKEN_A]: ["AWSPENDING"] });
      // Listed, but without a value: not found by VersionId or by label.
      await expect(f.vault.read(id, { versionId: TOKEN_A })).rejects.toBeInstanceOf(NotFoundError);
      await expect(f.vault.read(id, { stage: "AWSPENDING" })).rejects.toBeInstanceOf(NotFoundError);

      const staged = await f.vault.stagePending(id, NEW, TOKEN_A, { rotationToken: ROTATION_TOKEN });
      expect(staged).toMatchObject({ versionId: TOKEN_A, outcome: "created" });
      expect(await f.stages(id)).toEqual({ [oldId as string]: ["AWSCURRENT"], [TOKEN_A]: ["AWSPENDING"] });
      const pending = await f.vault.read(id, { stage: "AWSPENDING" });
      expect(pending.versionId).toBe(TOKEN_A);
      expect(pending.credential.password.reveal()).toBe("new-password-9a7c");
      expect(await f.vault.stagePending(id, NEW, TOKEN_A, { rotationToken: ROTATION_TOKEN })).toMatchObject({ versionId: TOKEN_A, outcome: "existing" });

      await f.vault.promote(id, TOKEN_A);
      expect(await f.stages(id)).toEqual({ [oldId as string]: ["AWSPREVIOUS"], [TOKEN_A]: ["AWSCURRENT"] });
      expect((await f.vault.read(id, { stage: "AWSCURRENT" })).credential.password.reveal()).toBe("new-password-9a7c");
    });

    it("gives a rotation's valueless version its value even when it equals AWSCURRENT's (no 'unchanged' shortcut)", async (ctx) => {
      const { f, id, oldId } = await rotating(ctx);
      const staged = await f.vault.stagePending(id, OLD, TOKEN_A, { rotationToken: ROTATION_TOKEN });
      expect(staged).toMatchObject({ versionId: TOKEN_A, outcome: "created" });
      expect((await f.vault.read(id, { versionId: TOKEN_A })).credential.password.reveal()).toBe("old-password-4d1f");
      expect(holder(await f.stages(id), "AWSCURRENT")).toBe(oldId);
    });

    it("rejects another value for a rotation's version once it has one", async (ctx) => {
      const { f, id } = await rotating(ctx);
      await f.vault.stagePending(id, NEW, TOKEN_A, { rotationToken: ROTATION_TOKEN });
      await expect(f.vault.stagePending(id, credential("robot", "third-password"), TOKEN_A, { rotationToken: ROTATION_TOKEN })).rejects.toMatchObject({ code: "request_token_conflict" });
    });

    it("hands the rotation's RotationToken to the write that gives its version a value", async (ctx) => {
      const f = await setup();
      if (f.beginRotation === undefined) return ctx.skip(NO_ROTATION_STATE);
      if (f.rotationTokensWritten === undefined) return ctx.skip("the adapter's writes carry no observable RotationToken (no rotationTokensWritten hook)");
      const id = await f.seed(json("robot", "old-password-4d1f"));
      await f.beginRotation(id, TOKEN_A, ROTATION_TOKEN);
      await f.vault.stagePending(id, NEW, TOKEN_A, { rotationToken: ROTATION_TOKEN });
      expect(await f.rotationTokensWritten(id, TOKEN_A)).toEqual([ROTATION_TOKEN]);
      // A write outside any rotation carries none.
      await f.vault.promote(id, TOKEN_A);
      await f.vault.stagePending(id, credential("robot", "third-password"), TOKEN_B);
      expect(await f.rotationTokensWritten(id, TOKEN_B)).toEqual([undefined]);
    });

    it("keeps two versions with the same createdAt apart: both readable, labels right, promote works", async () => {
      const f = await setup();
      // Secrets Manager reports CreatedDate in whole seconds: versions written within one second tie.
      const frozen = f.freezeClock !== undefined;
      f.freezeClock?.(new Date("2026-03-01T12:00:00.000Z"));
      const id = await f.seed(json("robot", "old-password-4d1f"));
      const oldId = holder(await f.stages(id), "AWSCURRENT") as string;
      await f.vault.stagePending(id, NEW, TOKEN_A);
      const old = await f.vault.read(id, { versionId: oldId });
      const fresh = await f.vault.read(id, { versionId: TOKEN_A });
      if (frozen) expect(fresh.createdAt.getTime()).toBe(old.createdAt.getTime());
      expect(old.credential.password.reveal()).toBe("old-password-4d1f");
      expect(old.stages).toEqual(["AWSCURRENT"]);
      expect(fresh.credential.password.reveal()).toBe("new-password-9a7c");
      expect(fresh.stages).toEqual(["AWSPENDING"]);
      expect((await f.vault.read(id, { stage: "AWSCURRENT" })).versionId).toBe(oldId);

      await f.vault.promote(id, TOKEN_A);
      expect(await f.stages(id)).toEqual({ [oldId]: ["AWSPREVIOUS"], [TOKEN_A]: ["AWSCURRENT"] });
      expect((await f.vault.read(id, { stage: "AWSCURRENT" })).credential.password.reveal()).toBe("new-password-9a7c");
      expect((await f.vault.read(id, { stage: "AWSPREVIOUS" })).credential.password.reveal()).toBe("old-password-4d1f");
      // And a third at the same instant: the labels follow the promotions, not the timestamps.
      await f.vault.stagePending(id, credential("robot", "third-password"), TOKEN_B);
      await f.vault.promote(id, TOKEN_B);
      const last = await f.stages(id);
      expect([holder(last, "AWSCURRENT"), holder(last, "AWSPREVIOUS"), holder(last, "AWSPENDING")]).toEqual([TOKEN_B, TOKEN_A, undefined]);
      // DescribeSecret may leave out a version without labels.
      expect(last[oldId] ?? []).toEqual([]);
    });

    it("reports an unknown secret as not found", async () => {
      const f = await setup();
      const error = await f.vault.read("pullkeeper/does-not-exist-0c1d", { stage: "AWSCURRENT" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PullkeeperError);
      expect((error as PullkeeperError).code).toBe("not_found");
    });
  });
}
