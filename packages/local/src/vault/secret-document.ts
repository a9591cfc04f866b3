import { type Clock, PullkeeperError, RequestTokenConflictError } from "@pullkeeper/core";
import { corrupt, FILE_FORMAT } from "./encrypted-file-store.js";

/**
 * One secret as LocalVault stores it (a JSON document in its own encrypted file), and the rules
 * Secrets Manager applies to its versions and staging labels.
 */

/**
 * Old versions are pruned the way Secrets Manager deprecates them, scaled down to a laptop:
 * every version that carries a staging label is kept; of the versions without one, the
 * MAX_UNLABELLED_VERSIONS newest are kept and older ones are dropped at the next write of that
 * secret. (Secrets Manager keeps about 100 and nothing younger than 24 hours.) A retried request
 * token whose version was pruned creates the version again.
 */
export const MAX_UNLABELLED_VERSIONS = 10;

export const FORMAT = FILE_FORMAT;

export interface VersionDoc {
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

export interface SecretDoc {
  readonly format: typeof FORMAT;
  readonly name: string;
  readonly arn: string;
  readonly createdAt: string;
  versions: VersionDoc[];
}

export function holder(doc: SecretDoc, stage: string): VersionDoc | undefined {
  return doc.versions.find((v) => v.stages.includes(stage));
}

/** A label sits on one version at a time; AWSPREVIOUS follows AWSCURRENT when it moves. */
export function attach(doc: SecretDoc, stage: string, target: VersionDoc): void {
  for (const version of doc.versions) {
    if (version === target || !version.stages.includes(stage)) continue;
    version.stages = version.stages.filter((s) => s !== stage);
    if (stage === "AWSCURRENT") attach(doc, "AWSPREVIOUS", version);
  }
  if (!target.stages.includes(stage)) target.stages.push(stage);
}

/**
 * PutSecretValue's effect on the document: a new version (or the value of a rotation's
 * valueless version with that id) and its labels. The first value of a secret gets AWSCURRENT
 * whatever `stages` says; a version without a value gets only what it is given.
 */
export function addVersion(doc: SecretDoc, id: string, value: string | undefined, stages: readonly string[], clock: Clock): void {
  const first = value !== undefined && !doc.versions.some((v) => v.value !== undefined);
  let version = doc.versions.find((v) => v.id === id);
  if (version === undefined) {
    version = { id, stages: [], createdAt: clock.now().toISOString() };
    doc.versions.push(version);
  }
  if (value !== undefined) version.value = value;
  for (const stage of first && !stages.includes("AWSCURRENT") ? ["AWSCURRENT", ...stages] : stages) attach(doc, stage, version);
}

export function notPending(secretId: string, version: VersionDoc): PullkeeperError {
  return new PullkeeperError(
    "version_not_pending",
    `secret ${secretId} version ${version.id} exists without a value and is no longer labelled AWSPENDING (labels: ${version.stages.join(", ") || "none"}); start a new rotation`,
  );
}

/**
 * A write under `requestToken` that already happened: the same value again is a no-op (outcome
 * "existing"), another value under the same token is a bug upstream. Undefined when no version
 * with that token has a value yet.
 */
export function replayedWrite(doc: SecretDoc, secretId: string, requestToken: string, value: string): { arn: string; versionId: string; outcome: "existing" } | undefined {
  const existing = doc.versions.find((v) => v.id === requestToken);
  if (existing?.value === undefined) return undefined;
  if (existing.value !== value) throw new RequestTokenConflictError(secretId, requestToken);
  return { arn: doc.arn, versionId: requestToken, outcome: "existing" };
}

/** See MAX_UNLABELLED_VERSIONS. Versions are kept in creation order, so the newest are last. */
export function prune(doc: SecretDoc): void {
  let unlabelledKept = 0;
  const keep = new Set<VersionDoc>();
  for (let i = doc.versions.length - 1; i >= 0; i--) {
    const version = doc.versions[i] as VersionDoc;
    if (version.stages.length > 0 || unlabelledKept++ < MAX_UNLABELLED_VERSIONS) keep.add(version);
  }
  doc.versions = doc.versions.filter((v) => keep.has(v));
}

export function decodeDoc(path: string, plaintext: Buffer): SecretDoc {
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
