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
import { randomInt, randomUUID } from "node:crypto";
import { corrupt, EncryptedFileStore } from "./encrypted-file-store.js";
import { addVersion, attach, decodeDoc, FORMAT, holder, notPending, prune, replayedWrite, type SecretDoc } from "./secret-document.js";

export { MAX_UNLABELLED_VERSIONS } from "./secret-document.js";

/**
 * The Vault port on local files, for the embedded runtime: Secrets Manager's semantics
 * (versions, staging labels, idempotent request tokens) without an AWS account. The bytes on disk
 * (key file, encryption, atomic writes) are EncryptedFileStore's; each secret is one JSON document
 * there, holding its name, ARN and versions.
 *
 * Why one file per secret rather than one file for all: no operation of the port spans two
 * secrets, so a single file would buy an atomicity nobody needs and cost a rewrite of every secret
 * on each write. Per secret, a write touches only that secret, a damaged or tampered file takes
 * only that secret with it, and two processes that write different secrets cannot lose each
 * other's writes.
 *
 * Mutations are serialized per directory within this process through a promise chain, and each
 * re-reads the file inside the chain, so concurrent calls never lose a write. Across processes
 * there is no lock: two processes writing the same secret at the same instant can lose one write.
 */

export const LOCAL_ARN_PREFIX = "arn:aws:secretsmanager:local:000000000000:secret:";

/** Secrets Manager's rules for names and ClientRequestToken. */
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** Refuses a name Secrets Manager would refuse, before anything is read or written. */
export function checkSecretName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidInputError(`secret name must be 1 to 512 characters of letters, digits and /_+=.@- (got ${JSON.stringify(name.slice(0, 80))})`);
  }
}
const ARN_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

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
  readonly #store: EncryptedFileStore;
  readonly #clock: Clock;

  constructor(options: LocalVaultOptions) {
    this.#store = new EncryptedFileStore(options.dir);
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
    return this.#write(secretId, value, requestToken, "AWSPENDING");
  }

  async putCurrent(secretId: string, value: Credential, requestToken: string): Promise<StagedVersion> {
    return this.#write(secretId, value, requestToken, "AWSCURRENT");
  }

  /** One new version labelled `stage`, unless the token was written before or the value is already current. */
  async #write(secretId: string, value: Credential, requestToken: string, stage: "AWSPENDING" | "AWSCURRENT"): Promise<StagedVersion> {
    checkRequestToken(requestToken);
    return this.#mutate(async () => {
      const doc = await this.#require(secretId);
      const replay = replayedWrite(doc, secretId, requestToken, serializeCredential(value));
      if (replay !== undefined) return replay;
      const existing = doc.versions.find((v) => v.id === requestToken);
      // Only a rotation's own write completes its valueless version; a current value never lands on it.
      if (existing !== undefined && stage === "AWSCURRENT") {
        throw new PullkeeperError("version_not_pending", `secret ${secretId} version ${requestToken} is a rotation's version without a value; a value written as current cannot take its token`);
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
      addVersion(doc, requestToken, serializeCredential(value), [stage], this.#clock);
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
      addVersion(doc, token, undefined, ["AWSPENDING"], this.#clock);
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
      if (value !== undefined) addVersion(doc, randomUUID(), typeof value === "string" ? value : serializeCredential(value), ["AWSCURRENT"], this.#clock);
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
    const listings: SecretListing[] = [];
    for await (const { path, plaintext } of this.#store.entries()) {
      const doc = decodeDoc(path, plaintext);
      if (this.#store.pathOf(doc.name) !== path) throw corrupt(path, "holds another secret than its name says");
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
      const replay = replayedWrite(doc, secretId, requestToken, serializeCredential(value));
      if (replay !== undefined) return replay;
      addVersion(doc, requestToken, serializeCredential(value), stages, this.#clock);
      await this.#save(doc);
      return { arn: doc.arn, versionId: requestToken, outcome: "created" };
    });
  }

  #mutate<T>(fn: () => Promise<T>): Promise<T> {
    const dir = this.#store.dir;
    const run = (chains.get(dir) ?? Promise.resolve()).then(fn);
    chains.set(
      dir,
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
    const file = await this.#store.read(name);
    if (file === undefined) return undefined;
    const doc = decodeDoc(file.path, file.plaintext);
    if (doc.name !== name) throw corrupt(file.path, "holds another secret than its name says");
    if (secretId !== name && doc.arn !== secretId) return undefined;
    return doc;
  }

  async #save(doc: SecretDoc): Promise<void> {
    prune(doc);
    await this.#store.write(doc.name, Buffer.from(JSON.stringify(doc), "utf8"));
  }
}

function checkRequestToken(token: string): void {
  if (token.length < 32 || token.length > 64) {
    throw new InvalidInputError(`a request token (VersionId) must be 32 to 64 characters, got ${token.length}`);
  }
}

function arnSuffix(): string {
  return Array.from({ length: 6 }, () => ARN_SUFFIX_CHARS[randomInt(ARN_SUFFIX_CHARS.length)]).join("");
}

