import {
  type Clock,
  type Credential,
  InvalidInputError,
  NotFoundError,
  parseCredential,
  PullkeeperError,
  RequestTokenConflictError,
  sameCredential,
  serializeCredential,
  type Stage,
  type StagedVersion,
  type StageOptions,
  type StoredCredential,
  systemClock,
  type Vault,
} from "@pullkeeper/core";
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt, randomUUID } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

/**
 * The Vault port on local files, for the embedded runtime: Secrets Manager's semantics
 * (versions, staging labels, idempotent request tokens) without an AWS account.
 *
 * Layout of `dir`:
 *   vault.key                   32 random bytes, the AES-256-GCM key, mode 0600, created on first use
 *   secrets/<sha256(name)>.enc  one encrypted file per secret, mode 0600
 *
 * Why one file per secret rather than one file for all: no operation of the port spans two
 * secrets, so a single file would buy an atomicity nobody needs and cost a rewrite of every secret
 * on each write. Per secret, a write touches only that secret, a damaged or tampered file takes
 * only that secret with it, and two processes that write different secrets cannot lose each
 * other's writes. The file name is a hash because names hold "/" and need not be revealed; the
 * name and ARN live inside the encrypted document.
 *
 * Each file: "PKV1" | 12-byte IV | 16-byte GCM tag | ciphertext. The IV is fresh for every write;
 * the file's own name is the additional authenticated data, so a file copied over another
 * secret's fails authentication like a flipped byte does.
 *
 * Writes go to a temp file in the same directory, are fsynced, then renamed over the old file
 * (and the directory fsynced): a reader sees the old document or the new one, never half of one.
 * Mutations are serialized per directory within this process through a promise chain, and each
 * re-reads the file inside the chain, so concurrent calls never lose a write. Across processes
 * there is no lock: two processes writing the same secret at the same instant can lose one write.
 */

export const LOCAL_ARN_PREFIX = "arn:aws:secretsmanager:local:000000000000:secret:";

/**
 * Old versions are pruned the way Secrets Manager deprecates them, scaled down to a laptop:
 * every version that carries a staging label is kept; of the versions without one, the
 * MAX_UNLABELLED_VERSIONS newest are kept and older ones are dropped at the next write of that
 * secret. (Secrets Manager keeps about 100 and nothing younger than 24 hours.) A retried request
 * token whose version was pruned creates the version again.
 */
export const MAX_UNLABELLED_VERSIONS = 10;

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAGIC = Buffer.from("PKV1", "ascii");
const HEADER_BYTES = MAGIC.length + IV_BYTES + TAG_BYTES;
const FORMAT = 1;
/** A temp file older than this belongs to a writer that died; the first write of an instance removes it. */
const STALE_TEMP_MS = 10 * 60_000;
/** Secrets Manager's rules for names and ClientRequestToken. */
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** Refuses a name Secrets Manager would refuse, before anything is read or written. */
export function checkSecretName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidInputError(`secret name must be 1 to 512 characters of letters, digits and /_+=.@- (got ${JSON.stringify(name.slice(0, 80))})`);
  }
}
const ARN_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

interface VersionDoc {
  readonly id: string;
  /**
   * The SecretString, as Secrets Manager holds it (not necessarily a registry login). Absent on
   * the version beginRotation labels AWSPENDING before createSecret gives it a value (as
   * RotateSecret does): it is listed by describe() but not found by read().
   */
  value?: string;
  stages: string[];
  readonly createdAt: string;
}

interface SecretDoc {
  readonly format: typeof FORMAT;
  readonly name: string;
  readonly arn: string;
  readonly createdAt: string;
  versions: VersionDoc[];
}

export interface LocalVaultOptions {
  /** The directory holding vault.key and secrets/; created (mode 0700) if missing. */
  readonly dir: string;
  /** Stamps each version's createdAt; the system clock when absent. */
  readonly clock?: Clock;
}

export interface SecretDescription {
  readonly arn: string;
  readonly name: string;
  /** VersionId → staging labels (sorted), like DescribeSecret's VersionIdsToStages. */
  readonly versions: Record<string, string[]>;
}

/** One secret as `list()` shows it: everything but the values. */
export interface SecretListing {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: string;
  /** In creation order, oldest first. */
  readonly versions: readonly { readonly versionId: string; readonly stages: readonly string[]; readonly createdAt: string; readonly hasValue: boolean }[];
}

export interface PutValueOptions {
  /** Becomes the VersionId; idempotent like ClientRequestToken. A random UUID when absent. */
  readonly requestToken?: string;
  /** Labels to attach; AWSCURRENT when absent, as PutSecretValue does. */
  readonly stages?: readonly string[];
}

export interface PutValueResult {
  readonly arn: string;
  readonly versionId: string;
  /** existing: the request token was used before with the same value; nothing written. */
  readonly outcome: "created" | "existing";
}

/** Mutations of one directory, in order; shared by every LocalVault of this process on it. */
const chains = new Map<string, Promise<unknown>>();

export class LocalVault implements Vault {
  readonly #dir: string;
  readonly #secretsDir: string;
  readonly #keyPath: string;
  readonly #clock: Clock;
  #key: Promise<Buffer> | undefined;
  #tempsSwept = false;

  constructor(options: LocalVaultOptions) {
    this.#dir = resolve(options.dir);
    this.#secretsDir = join(this.#dir, "secrets");
    this.#keyPath = join(this.#dir, "vault.key");
    this.#clock = options.clock ?? systemClock;
  }

  async read(secretId: string, selector: { stage: Stage } | { versionId: string }): Promise<StoredCredential> {
    const doc = await this.#require(secretId);
    // A version without a value yet (a rotation's, before createSecret) is not found, by label or by id.
    const version = doc.versions.find((v) => v.value !== undefined && ("stage" in selector ? v.stages.includes(selector.stage) : v.id === selector.versionId));
    if (version?.value === undefined) {
      throw new NotFoundError(`secret ${secretId} ${"stage" in selector ? `stage ${selector.stage}` : `version ${selector.versionId}`}`);
    }
    return { arn: doc.arn, versionId: version.id, stages: [...version.stages], createdAt: new Date(version.createdAt), credential: parseCredential(secretId, version.value) };
  }

  /** `options.rotationToken` is accepted and ignored: there is no other account or role here to prove anything to. */
  async stagePending(secretId: string, value: Credential, requestToken: string, _options: StageOptions = {}): Promise<StagedVersion> {
    checkRequestToken(requestToken);
    return this.#mutate(async () => {
      const doc = await this.#require(secretId);
      const existing = doc.versions.find((v) => v.id === requestToken);
      if (existing?.value !== undefined) {
        // A retry of a write that already happened is a no-op; the same token for another value is a bug upstream.
        if (existing.value !== serializeCredential(value)) throw new RequestTokenConflictError(secretId, requestToken);
        return { arn: doc.arn, versionId: requestToken, outcome: "existing" };
      }
      if (existing !== undefined && !existing.stages.includes("AWSPENDING")) throw notPending(secretId, existing);
      const current = holder(doc, "AWSCURRENT");
      if (current?.value !== undefined) {
        // Parsing the current value also refuses to overwrite a secret that is not a registry login.
        // The shortcut never applies to a rotation's valueless version: the later steps read it by its token.
        if (sameCredential(parseCredential(secretId, current.value), value) && existing === undefined) {
          return { arn: doc.arn, versionId: current.id, outcome: "unchanged" };
        }
      }
      this.#addVersion(doc, requestToken, serializeCredential(value), ["AWSPENDING"]);
      await this.#save(doc);
      return { arn: doc.arn, versionId: requestToken, outcome: "created" };
    });
  }

  /**
   * What Secrets Manager's RotateSecret does before the first rotation step: labels a new
   * VersionId (`token`, a random UUID when absent) AWSPENDING without a value; stagePending with
   * that token gives it one. Refused while an earlier rotation's AWSPENDING sits on a version other
   * than AWSCURRENT's, as RotateSecret refuses it. Idempotent on the token.
   */
  async beginRotation(secretId: string, token: string = randomUUID()): Promise<string> {
    checkRequestToken(token);
    return this.#mutate(async () => {
      const doc = await this.#require(secretId);
      const existing = doc.versions.find((v) => v.id === token);
      if (existing !== undefined) {
        if (existing.value === undefined && existing.stages.includes("AWSPENDING")) return token;
        throw new RequestTokenConflictError(secretId, token);
      }
      const pending = holder(doc, "AWSPENDING");
      if (pending !== undefined && !pending.stages.includes("AWSCURRENT")) {
        throw new PullkeeperError("rotation_in_progress", `secret ${secretId}: a previous rotation (version ${pending.id}, labelled AWSPENDING) is not finished`);
      }
      this.#addVersion(doc, token, undefined, ["AWSPENDING"]);
      await this.#save(doc);
      return token;
    });
  }

  async promote(secretId: string, versionId: string): Promise<void> {
    await this.#mutate(async () => {
      const doc = await this.#require(secretId);
      const version = doc.versions.find((v) => v.id === versionId);
      if (version === undefined) throw new NotFoundError(`secret ${secretId} version ${versionId}`);
      let changed = false;
      if (!version.stages.includes("AWSCURRENT")) {
        attach(doc, "AWSCURRENT", version);
        changed = true;
      }
      // A leftover AWSPENDING would look like an unfinished rotation to the next one.
      if (version.stages.includes("AWSPENDING")) {
        version.stages = version.stages.filter((s) => s !== "AWSPENDING");
        changed = true;
      }
      if (changed) await this.#save(doc);
    });
  }

  /**
   * Creates a secret and returns its ARN; with `value`, its first version (labelled AWSCURRENT).
   * A string value is stored as is, like CreateSecret's SecretString. Idempotent on the name: an
   * existing secret's ARN is returned and nothing is written, whatever `value` says (putValue
   * changes a value).
   */
  async createSecret(name: string, value?: Credential | string): Promise<string> {
    checkSecretName(name);
    return this.#mutate(async () => {
      const found = await this.#load(name);
      if (found !== undefined) return found.arn;
      const doc: SecretDoc = { format: FORMAT, name, arn: `${LOCAL_ARN_PREFIX}${name}-${arnSuffix()}`, createdAt: new Date().toISOString(), versions: [] };
      if (value !== undefined) this.#addVersion(doc, randomUUID(), typeof value === "string" ? value : serializeCredential(value), ["AWSCURRENT"]);
      await this.#save(doc);
      return doc.arn;
    });
  }

  /** The secret's ARN, name and labels per version (DescribeSecret's VersionIdsToStages). */
  async describe(secretId: string): Promise<SecretDescription> {
    const doc = await this.#require(secretId);
    return { arn: doc.arn, name: doc.name, versions: Object.fromEntries(doc.versions.map((v) => [v.id, [...v.stages].sort()])) };
  }

  /**
   * ListSecrets with each secret's versions: names, ARNs, labels and creation times, never a value.
   * Reads every file of the vault (they are small, and a laptop holds a handful); an empty vault
   * lists nothing and creates nothing, not even the key.
   */
  async list(): Promise<SecretListing[]> {
    const files = (await readdir(this.#secretsDir).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [] as string[];
      throw ioError(`cannot list ${this.#secretsDir}`, error);
    })).filter((f) => /^[0-9a-f]{64}\.enc$/.test(f));
    if (files.length === 0) return [];
    const key = await this.#getKey();
    const listings: SecretListing[] = [];
    for (const file of files) {
      const path = join(this.#secretsDir, file);
      const bytes = await readFile(path).catch((error: unknown) => {
        // Replaced or removed between readdir and here: it is listed under its new name, or gone.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw ioError(`cannot read ${path}`, error);
      });
      if (bytes === undefined) continue;
      const doc = decodeDoc(path, this.#decrypt(path, bytes, key));
      if (this.#pathOf(doc.name) !== path) throw corrupt(path, "holds another secret than its name says");
      listings.push({
        name: doc.name,
        arn: doc.arn,
        createdAt: doc.createdAt,
        versions: doc.versions.map((v) => ({ versionId: v.id, stages: [...v.stages].sort(), createdAt: v.createdAt, hasValue: v.value !== undefined })),
      });
    }
    return listings.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * PutSecretValue: a new version with `stages` (AWSCURRENT by default; the first version of a
   * secret gets AWSCURRENT whatever `stages` says), idempotent on the request token.
   */
  async putValue(secretId: string, value: Credential, options: PutValueOptions = {}): Promise<PutValueResult> {
    const requestToken = options.requestToken ?? randomUUID();
    checkRequestToken(requestToken);
    const stages = [...new Set(options.stages ?? ["AWSCURRENT"])];
    for (const stage of stages) {
      if (stage === "" || stage.length > 256) throw new InvalidInputError("a staging label must be 1 to 256 characters");
    }
    return this.#mutate(async () => {
      const doc = await this.#require(secretId);
      const existing = doc.versions.find((v) => v.id === requestToken);
      if (existing?.value !== undefined) {
        if (existing.value !== serializeCredential(value)) throw new RequestTokenConflictError(secretId, requestToken);
        return { arn: doc.arn, versionId: requestToken, outcome: "existing" };
      }
      this.#addVersion(doc, requestToken, serializeCredential(value), stages);
      await this.#save(doc);
      return { arn: doc.arn, versionId: requestToken, outcome: "created" };
    });
  }

  /**
   * PutSecretValue's effect on the document: a new version (or the value of a rotation's
   * valueless version with that id) and its labels. The first value of a secret gets AWSCURRENT
   * whatever `stages` says; a version without a value gets only what it is given.
   */
  #addVersion(doc: SecretDoc, id: string, value: string | undefined, stages: readonly string[]): void {
    const first = value !== undefined && !doc.versions.some((v) => v.value !== undefined);
    let version = doc.versions.find((v) => v.id === id);
    if (version === undefined) {
      version = { id, stages: [], createdAt: this.#clock.now().toISOString() };
      doc.versions.push(version);
    }
    if (value !== undefined) version.value = value;
    for (const stage of first && !stages.includes("AWSCURRENT") ? ["AWSCURRENT", ...stages] : stages) attach(doc, stage, version);
  }

  #mutate<T>(fn: () => Promise<T>): Promise<T> {
    const run = (chains.get(this.#dir) ?? Promise.resolve()).then(fn);
    chains.set(
      this.#dir,
      run.catch(() => undefined),
    );
    return run;
  }

  async #require(secretId: string): Promise<SecretDoc> {
    const doc = await this.#load(secretId);
    if (doc === undefined) throw new NotFoundError(`secret ${secretId}`);
    return doc;
  }

  /** The secret named by `secretId` (a name or its ARN), or undefined when there is none. */
  async #load(secretId: string): Promise<SecretDoc | undefined> {
    let name = secretId;
    if (secretId.startsWith(LOCAL_ARN_PREFIX)) {
      const match = /^(.+)-[A-Za-z0-9]{6}$/.exec(secretId.slice(LOCAL_ARN_PREFIX.length));
      if (!match) return undefined;
      name = match[1] as string;
    }
    if (!NAME_PATTERN.test(name)) return undefined;
    const path = this.#pathOf(name);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw ioError(`cannot read ${path}`, error);
    }
    const doc = decodeDoc(path, this.#decrypt(path, bytes, await this.#getKey()));
    if (doc.name !== name) throw corrupt(path, "holds another secret than its name says");
    if (secretId !== name && doc.arn !== secretId) return undefined;
    return doc;
  }

  async #save(doc: SecretDoc): Promise<void> {
    prune(doc);
    const key = await this.#getKey();
    await mkdir(this.#secretsDir, { recursive: true, mode: 0o700 });
    if (!this.#tempsSwept) {
      this.#tempsSwept = true;
      await sweepStaleTemps(this.#secretsDir);
    }
    const path = this.#pathOf(doc.name);
    await writeAtomic(path, this.#encrypt(path, Buffer.from(JSON.stringify(doc), "utf8"), key));
  }

  #pathOf(name: string): string {
    return join(this.#secretsDir, `${createHash("sha256").update(name, "utf8").digest("hex")}.enc`);
  }

  #encrypt(path: string, plaintext: Buffer, key: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(aad(path));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
  }

  #decrypt(path: string, bytes: Buffer, key: Buffer): Buffer {
    if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw corrupt(path, "is not a pullkeeper vault file (bad header)");
    }
    const iv = bytes.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
    const tag = bytes.subarray(MAGIC.length + IV_BYTES, HEADER_BYTES);
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAAD(aad(path));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES)), decipher.final()]);
    } catch (error) {
      throw corrupt(path, `failed authentication: it was modified or damaged, or it was not encrypted with ${this.#keyPath}`, error);
    }
  }

  /** The vault key: read (and its mode checked) once, created on first use. */
  #getKey(): Promise<Buffer> {
    this.#key ??= this.#loadOrCreateKey().catch((error: unknown) => {
      this.#key = undefined;
      throw error;
    });
    return this.#key;
  }

  async #loadOrCreateKey(): Promise<Buffer> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const existing = await readKey(this.#keyPath);
    if (existing !== undefined) return existing;
    // The key is written to a private temp file (mode 0600, flag wx) and published with link(),
    // which fails with EEXIST if another process got there first: whoever loses reads the
    // winner's key, and no process ever reads a half-written key file.
    const temp = tempPathFor(this.#keyPath);
    try {
      await writeNew(temp, randomBytes(KEY_BYTES));
      try {
        await link(temp, this.#keyPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw ioError(`cannot create ${this.#keyPath}`, error);
      }
    } finally {
      await rm(temp, { force: true });
    }
    await syncDir(this.#dir);
    const created = await readKey(this.#keyPath);
    if (created === undefined) throw new PullkeeperError("vault_io", `local vault: ${this.#keyPath} vanished right after it was created`);
    return created;
  }
}

function checkRequestToken(token: string): void {
  if (token.length < 32 || token.length > 64) {
    throw new InvalidInputError(`a request token (VersionId) must be 32 to 64 characters, got ${token.length}`);
  }
}


function holder(doc: SecretDoc, stage: string): VersionDoc | undefined {
  return doc.versions.find((v) => v.stages.includes(stage));
}

/** A label sits on one version at a time; AWSPREVIOUS follows AWSCURRENT when it moves. */
function attach(doc: SecretDoc, stage: string, target: VersionDoc): void {
  for (const version of doc.versions) {
    if (version === target || !version.stages.includes(stage)) continue;
    version.stages = version.stages.filter((s) => s !== stage);
    if (stage === "AWSCURRENT") attach(doc, "AWSPREVIOUS", version);
  }
  if (!target.stages.includes(stage)) target.stages.push(stage);
}

function notPending(secretId: string, version: VersionDoc): PullkeeperError {
  return new PullkeeperError(
    "version_not_pending",
    `secret ${secretId} version ${version.id} exists without a value and is no longer labelled AWSPENDING (labels: ${version.stages.join(", ") || "none"}); start a new rotation`,
  );
}

/** See MAX_UNLABELLED_VERSIONS. Versions are kept in creation order, so the newest are last. */
function prune(doc: SecretDoc): void {
  let unlabelledKept = 0;
  const keep = new Set<VersionDoc>();
  for (let i = doc.versions.length - 1; i >= 0; i--) {
    const version = doc.versions[i] as VersionDoc;
    if (version.stages.length > 0 || unlabelledKept++ < MAX_UNLABELLED_VERSIONS) keep.add(version);
  }
  doc.versions = doc.versions.filter((v) => keep.has(v));
}

function decodeDoc(path: string, plaintext: Buffer): SecretDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(plaintext.toString("utf8"));
  } catch {
    // JSON.parse's message quotes the text, which holds credentials.
    throw corrupt(path, "decrypted to something that is not a vault document");
  }
  const d = doc as Partial<SecretDoc> | null;
  const ok =
    typeof d === "object" &&
    d !== null &&
    d.format === FORMAT &&
    typeof d.name === "string" &&
    typeof d.arn === "string" &&
    Array.isArray(d.versions) &&
    d.versions.every((v) => typeof v?.id === "string" && (v.value === undefined || typeof v.value === "string") && Array.isArray(v.stages));
  if (!ok) throw corrupt(path, `is not a vault document of format ${FORMAT}`);
  return d as SecretDoc;
}

function aad(path: string): Buffer {
  return Buffer.from(`pullkeeper-local-vault/${FORMAT}/${basename(path)}`, "utf8");
}

function arnSuffix(): string {
  return Array.from({ length: 6 }, () => ARN_SUFFIX_CHARS[randomInt(ARN_SUFFIX_CHARS.length)]).join("");
}

function corrupt(path: string, what: string, cause?: unknown): PullkeeperError {
  return new PullkeeperError("vault_corrupt", `local vault file ${path} ${what}; refusing to use it`, cause === undefined ? undefined : { cause });
}

function ioError(what: string, cause: unknown): PullkeeperError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? "unknown error";
  return new PullkeeperError("vault_io", `local vault: ${what} (${code})`, { cause });
}

async function readKey(path: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw ioError(`cannot open ${path}`, error);
  }
  try {
    const { mode } = await handle.stat();
    if (process.platform !== "win32" && (mode & 0o077) !== 0) {
      throw new PullkeeperError(
        "vault_key_insecure",
        `local vault key ${path} is accessible to group or others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      );
    }
    const key = await handle.readFile();
    if (key.length !== KEY_BYTES) {
      throw new PullkeeperError("vault_key_invalid", `local vault key ${path} holds ${key.length} bytes, expected ${KEY_BYTES}`);
    }
    return key;
  } finally {
    await handle.close();
  }
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

/** Creates `path` (which must not exist) with mode 0600 and `data`, flushed to disk. */
async function writeNew(path: string, data: Buffer): Promise<void> {
  const handle = await open(path, "wx", 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data` all at once: temp file, fsync, rename, fsync of the directory.
 * Not write-file-atomic (which runtime-file.ts uses): it neither fsyncs the directory nor names its
 * temp files the way sweepStaleTemps finds them after a crash, its node:fs calls are out of reach
 * of the tests that fail a rename mid-write, and the key needs writeNew's exclusive create anyway.
 */
async function writeAtomic(path: string, data: Buffer): Promise<void> {
  const temp = tempPathFor(path);
  try {
    await writeNew(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw ioError(`cannot write ${path}`, error);
  }
  await syncDir(dirname(path));
}

/** Makes a rename durable. Not every platform can open a directory (Windows): best effort. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Durability of the rename is best effort; atomicity does not depend on it.
  } finally {
    await handle?.close();
  }
}

async function sweepStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  await Promise.all(
    names
      .filter((n) => n.startsWith(".") && n.endsWith(".tmp"))
      .map(async (n) => {
        const path = join(dir, n);
        const info = await stat(path).catch(() => undefined);
        if (info !== undefined && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
      }),
  );
}
