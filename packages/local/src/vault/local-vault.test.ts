import { credential, InvalidInputError, NotFoundError, PullkeeperError } from "@pullkeeper/core";
import * as fsp from "node:fs/promises";
import { chmod, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { LOCAL_ARN_PREFIX, LocalVault, MAX_UNLABELLED_VERSIONS } from "./local-vault.js";

// rename is wrapped so a test can make one fail, as a full disk or a crash mid-write would.
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  return { ...actual, rename: vi.fn(actual.rename) };
});

const USER = "robot-user-5e2b";
const PASSWORD = "hunter2-Very-Secret-Password-8c1f";
const LOGIN = credential(USER, PASSWORD);
const token = (n: number) => `0b7c2d1e-0000-8000-a000-${String(n).padStart(12, "0")}`;

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-vault-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
afterEach(() => {
  vi.mocked(fsp.rename).mockClear();
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function dataFile(dir: string): Promise<string> {
  const files = (await readdir(join(dir, "secrets"))).filter((n) => n.endsWith(".enc"));
  expect(files).toHaveLength(1);
  return join(dir, "secrets", files[0] as string);
}

describe("LocalVault storage", () => {
  it("creates vault.key with mode 0600 on first use and reuses it: a new instance on the same dir reads the same state", async () => {
    const dir = await freshDir();
    const arn = await new LocalVault({ dir }).createSecret("pullkeeper/prod-ecr", LOGIN);
    const keyPath = join(dir, "vault.key");
    const key = await readFile(keyPath);
    expect(key).toHaveLength(32);
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(await dataFile(dir))).mode & 0o777).toBe(0o600);

    const again = new LocalVault({ dir });
    const current = await again.read("pullkeeper/prod-ecr", { stage: "AWSCURRENT" });
    expect(current.arn).toBe(arn);
    expect(current.credential.password.reveal()).toBe(PASSWORD);
    await again.stagePending(arn, credential(USER, "next-password-1234"), token(1));
    expect(await readFile(keyPath)).toEqual(key);
    expect((await new LocalVault({ dir }).read(arn, { stage: "AWSPENDING" })).credential.password.reveal()).toBe("next-password-1234");
  });

  it("keeps no credential, and not the secret's name, in plaintext anywhere in its directory", async () => {
    const dir = await freshDir();
    const vault = new LocalVault({ dir });
    const arn = await vault.createSecret("pullkeeper/prod-ecr", LOGIN);
    await vault.stagePending(arn, credential(USER, `${PASSWORD}-next`), token(1));
    await vault.promote(arn, token(1));
    const files = await filesUnder(dir);
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const bytes = await readFile(file);
      for (const needle of [PASSWORD, USER, "pullkeeper/prod-ecr", Buffer.from(PASSWORD).toString("base64")]) {
        expect(bytes.includes(Buffer.from(needle)), `${file} contains ${needle.slice(0, 6)}…`).toBe(false);
      }
    }
  });

  it("refuses a data file with one flipped byte, naming the file, and never quotes a value", async () => {
    const dir = await freshDir();
    await new LocalVault({ dir }).createSecret("pullkeeper/prod-ecr", LOGIN);
    const file = await dataFile(dir);
    const bytes = await readFile(file);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0x01;
    await writeFile(file, bytes);
    const error = await new LocalVault({ dir }).read("pullkeeper/prod-ecr", { stage: "AWSCURRENT" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PullkeeperError);
    expect((error as PullkeeperError).code).toBe("vault_corrupt");
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/failed authentication/);
    expect((error as Error).message).not.toContain(PASSWORD);
  });

  it("refuses a file that is not a vault file, and one encrypted under another key", async () => {
    const dir = await freshDir();
    await new LocalVault({ dir }).createSecret("pullkeeper/prod-ecr", LOGIN);
    const file = await dataFile(dir);
    const original = await readFile(file);

    await writeFile(file, "{}");
    await expect(new LocalVault({ dir }).describe("pullkeeper/prod-ecr")).rejects.toThrow(/is not a pullkeeper vault file/);

    await writeFile(file, original);
    await writeFile(join(dir, "vault.key"), Buffer.alloc(32, 7), { mode: 0o600 });
    await expect(new LocalVault({ dir }).describe("pullkeeper/prod-ecr")).rejects.toMatchObject({ code: "vault_corrupt", message: expect.stringContaining(file) });
  });

  it("refuses a key file readable by others, saying how to fix it", async () => {
    const dir = await freshDir();
    await new LocalVault({ dir }).createSecret("pullkeeper/prod-ecr", LOGIN);
    await chmod(join(dir, "vault.key"), 0o644);
    await expect(new LocalVault({ dir }).describe("pullkeeper/prod-ecr")).rejects.toMatchObject({
      code: "vault_key_insecure",
      message: expect.stringContaining("chmod 600"),
    });
  });

  it("keeps the previous state when a write fails before its rename, and leaves no temp file", async () => {
    const dir = await freshDir();
    const vault = new LocalVault({ dir });
    const arn = await vault.createSecret("pullkeeper/prod-ecr", LOGIN);
    const before = await vault.describe(arn);
    vi.mocked(fsp.rename).mockRejectedValueOnce(Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }));

    const error = await vault.stagePending(arn, credential(USER, "next-password-1234"), token(1)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "vault_io", message: expect.stringContaining("ENOSPC") });
    expect((error as Error).message).not.toContain("next-password-1234");
    expect(await new LocalVault({ dir }).describe(arn)).toEqual(before);
    expect((await readdir(join(dir, "secrets"))).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    // The vault is still usable: the retry goes through.
    expect((await vault.stagePending(arn, credential(USER, "next-password-1234"), token(1))).outcome).toBe("created");
  });

  it("ignores a temp file a killed writer left behind, and sweeps it once it is old", async () => {
    const dir = await freshDir();
    const vault = new LocalVault({ dir });
    const arn = await vault.createSecret("pullkeeper/prod-ecr", LOGIN);
    const file = await dataFile(dir);
    const stray = join(dir, "secrets", `.${file.split("/").pop()}.99999.abcdef.tmp`);
    await writeFile(stray, "half a docum");
    const reopened = new LocalVault({ dir });
    expect((await reopened.read(arn, { stage: "AWSCURRENT" })).credential.password.reveal()).toBe(PASSWORD);

    await utimes(stray, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    await reopened.stagePending(arn, credential(USER, "next-password-1234"), token(1));
    expect((await readdir(join(dir, "secrets"))).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("LocalVault semantics beyond the contract", () => {
  it("names secrets by a local ARN, accepts it as an id, and creates idempotently", async () => {
    const vault = new LocalVault({ dir: await freshDir() });
    const arn = await vault.createSecret("pullkeeper/prod-ecr", LOGIN);
    expect(arn).toMatch(/^arn:aws:secretsmanager:local:000000000000:secret:pullkeeper\/prod-ecr-[A-Za-z0-9]{6}$/);
    expect(arn.startsWith(LOCAL_ARN_PREFIX)).toBe(true);
    expect(await vault.createSecret("pullkeeper/prod-ecr", credential("other", "other-password"))).toBe(arn);
    expect((await vault.read(arn, { stage: "AWSCURRENT" })).credential.username).toBe(USER);
    expect(await vault.describe(arn)).toMatchObject({ arn, name: "pullkeeper/prod-ecr" });
    const wrongSuffix = `${arn.slice(0, -6)}ZZZZZZ`;
    await expect(vault.read(wrongSuffix, { stage: "AWSCURRENT" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(vault.createSecret("has a space")).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("gives the first version of an empty secret AWSCURRENT too, as PutSecretValue does", async () => {
    const vault = new LocalVault({ dir: await freshDir() });
    const arn = await vault.createSecret("pullkeeper/empty");
    expect((await vault.describe(arn)).versions).toEqual({});
    await expect(vault.read(arn, { stage: "AWSCURRENT" })).rejects.toBeInstanceOf(NotFoundError);
    await vault.stagePending(arn, LOGIN, token(1));
    expect((await vault.describe(arn)).versions).toEqual({ [token(1)]: ["AWSCURRENT", "AWSPENDING"] });
    await vault.promote(arn, token(1));
    expect((await vault.describe(arn)).versions).toEqual({ [token(1)]: ["AWSCURRENT"] });
  });

  it("putValue moves AWSCURRENT by default and is idempotent on its request token", async () => {
    const vault = new LocalVault({ dir: await freshDir() });
    const arn = await vault.createSecret("pullkeeper/dockerhub", LOGIN);
    const first = (await vault.read(arn, { stage: "AWSCURRENT" })).versionId;
    const next = credential(USER, "next-password-1234");
    expect(await vault.putValue(arn, next, { requestToken: token(1) })).toEqual({ arn, versionId: token(1), outcome: "created" });
    expect(await vault.putValue(arn, next, { requestToken: token(1) })).toMatchObject({ outcome: "existing" });
    await expect(vault.putValue(arn, LOGIN, { requestToken: token(1) })).rejects.toMatchObject({ code: "request_token_conflict" });
    expect((await vault.describe(arn)).versions).toEqual({ [first]: ["AWSPREVIOUS"], [token(1)]: ["AWSCURRENT"] });
    const labelled = await vault.putValue(arn, credential(USER, "custom"), { stages: ["AWSPENDING", "mine"] });
    expect((await vault.describe(arn)).versions[labelled.versionId]).toEqual(["AWSPENDING", "mine"]);
    await expect(vault.stagePending(arn, next, "too-short")).rejects.toBeInstanceOf(InvalidInputError);
  });

  it(`keeps every labelled version and the ${MAX_UNLABELLED_VERSIONS} newest unlabelled ones`, async () => {
    const vault = new LocalVault({ dir: await freshDir() });
    const arn = await vault.createSecret("pullkeeper/busy", LOGIN);
    const current = (await vault.read(arn, { stage: "AWSCURRENT" })).versionId;
    for (let i = 1; i <= 15; i++) await vault.stagePending(arn, credential(USER, `password-${i}`), token(i));
    const versions = (await vault.describe(arn)).versions;
    expect(Object.keys(versions)).toHaveLength(1 + 1 + MAX_UNLABELLED_VERSIONS);
    expect(versions[current]).toEqual(["AWSCURRENT"]);
    expect(versions[token(15)]).toEqual(["AWSPENDING"]);
    expect(versions[token(5)]).toEqual([]);
    expect(versions[token(4)]).toBeUndefined();
  });

  it("beginRotation leaves a valueless AWSPENDING version, as RotateSecret does: listed, not readable, kept across a reopen, filled by stagePending", async () => {
    const dir = await freshDir();
    const vault = new LocalVault({ dir });
    const arn = await vault.createSecret("pullkeeper/rotated", LOGIN);
    const current = (await vault.read(arn, { stage: "AWSCURRENT" })).versionId;
    expect(await vault.beginRotation(arn, token(1))).toBe(token(1));
    expect(await vault.beginRotation(arn, token(1))).toBe(token(1));
    const reopened = new LocalVault({ dir });
    expect((await reopened.describe(arn)).versions).toEqual({ [current]: ["AWSCURRENT"], [token(1)]: ["AWSPENDING"] });
    await expect(reopened.read(arn, { versionId: token(1) })).rejects.toBeInstanceOf(NotFoundError);
    await expect(reopened.read(arn, { stage: "AWSPENDING" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(reopened.beginRotation(arn, token(2))).rejects.toMatchObject({ code: "rotation_in_progress" });

    const next = credential(USER, "next-password-1234");
    expect(await reopened.stagePending(arn, next, token(1), { rotationToken: "ignored-here" })).toEqual({ arn, versionId: token(1), outcome: "created" });
    expect((await reopened.read(arn, { stage: "AWSPENDING" })).versionId).toBe(token(1));
    await reopened.promote(arn, token(1));
    expect((await reopened.describe(arn)).versions).toEqual({ [current]: ["AWSPREVIOUS"], [token(1)]: ["AWSCURRENT"] });
    // Finished: the next rotation may start.
    expect(await reopened.beginRotation(arn, token(2))).toBe(token(2));
    await expect(reopened.beginRotation(arn, token(1))).rejects.toMatchObject({ code: "request_token_conflict" });
  });

  it("refuses to give a value to a rotation's version that lost its AWSPENDING, and writes nothing", async () => {
    const vault = new LocalVault({ dir: await freshDir() });
    const arn = await vault.createSecret("pullkeeper/abandoned", LOGIN);
    await vault.beginRotation(arn, token(1));
    await vault.putValue(arn, credential(USER, "someone-else"), { requestToken: token(2), stages: ["AWSPENDING"] });
    const before = await vault.describe(arn);
    expect(before.versions[token(1)]).toEqual([]);
    await expect(vault.stagePending(arn, credential(USER, "next-password-1234"), token(1))).rejects.toMatchObject({ code: "version_not_pending" });
    expect(await vault.describe(arn)).toEqual(before);
  });

  it("list: every secret's name, ARN and versions with their labels and times, sorted by name, never a value", async () => {
    const dir = await freshDir();
    const vault = new LocalVault({ dir });
    // An empty vault lists nothing and creates nothing, not even its key.
    expect(await vault.list()).toEqual([]);
    expect(await readdir(dir).catch(() => [])).toEqual([]);
    const hub = await vault.createSecret("team/hub", LOGIN);
    await vault.putValue(hub, credential(USER, `${PASSWORD}-2`));
    await vault.beginRotation(hub, token(7));
    await vault.createSecret("github/token");
    const listed = await vault.list();
    expect(listed.map((s) => s.name)).toEqual(["github/token", "team/hub"]);
    expect(listed[0]?.versions).toEqual([]);
    expect(listed[1]).toMatchObject({ name: "team/hub", arn: hub });
    expect(listed[1]?.versions.map((v) => [v.stages, v.hasValue])).toEqual([
      [["AWSPREVIOUS"], true],
      [["AWSCURRENT"], true],
      [["AWSPENDING"], false],
    ]);
    for (const v of listed[1]?.versions ?? []) expect(Number.isNaN(Date.parse(v.createdAt))).toBe(false);
    expect(JSON.stringify(listed)).not.toContain(PASSWORD);
  });

  it("list refuses a file that holds another secret than its name says, like read does", async () => {
    const dir = await freshDir();
    const vault = new LocalVault({ dir });
    await vault.createSecret("team/a", LOGIN);
    await vault.createSecret("team/b", LOGIN);
    const [a, b] = (await readdir(join(dir, "secrets"))).sort();
    // The AAD is the file's name: a copy under another name fails authentication.
    await writeFile(join(dir, "secrets", b as string), await readFile(join(dir, "secrets", a as string)));
    await expect(vault.list()).rejects.toMatchObject({ code: "vault_corrupt" });
  });

  it("stamps each version's createdAt with its clock", async () => {
    const at = new Date("2026-03-01T12:00:00.250Z");
    const vault = new LocalVault({ dir: await freshDir(), clock: { now: () => at } });
    const arn = await vault.createSecret("pullkeeper/clocked", LOGIN);
    await vault.stagePending(arn, credential(USER, "next-password-1234"), token(1));
    expect((await vault.read(arn, { stage: "AWSCURRENT" })).createdAt).toEqual(at);
    expect((await vault.read(arn, { versionId: token(1) })).createdAt).toEqual(at);
  });

  it("loses no write when calls race, even from two instances on one directory", async () => {
    const dir = await freshDir();
    const a = new LocalVault({ dir });
    const b = new LocalVault({ dir });
    const names = Array.from({ length: 6 }, (_, i) => `pullkeeper/race-${i}`);
    const arns = await Promise.all(names.map((n, i) => (i % 2 === 0 ? a : b).createSecret(n, LOGIN)));
    const staged = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).stagePending(arns[0] as string, credential(USER, `password-${i}`), token(i))),
    );
    expect(staged.map((s) => s.outcome)).toEqual(Array(8).fill("created"));
    const versions = (await new LocalVault({ dir }).describe(arns[0] as string)).versions;
    expect(Object.keys(versions)).toHaveLength(9);
    expect(Object.values(versions).filter((s) => s.includes("AWSPENDING"))).toHaveLength(1);
    for (const name of names) expect((await new LocalVault({ dir }).describe(name)).name).toBe(name);
  });

  it("a first use racing in one process creates one key", async () => {
    const dir = await freshDir();
    const arns = await Promise.all(Array.from({ length: 4 }, (_, i) => new LocalVault({ dir }).createSecret(`pullkeeper/k-${i}`, LOGIN)));
    for (const arn of arns) expect((await new LocalVault({ dir }).read(arn, { stage: "AWSCURRENT" })).credential.username).toBe(USER);
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});
