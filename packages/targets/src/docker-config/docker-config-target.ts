import { type Consumer, type DeliveryContext, DeliveryError, type DeliveryOutcome, type DeliveryTarget, parseTargetConfig, type Registry, type TargetFactory } from "@pullkeeper/core";
import { replaceFile } from "@pullkeeper/files";
import * as nodeFs from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { newDocument, reserialize, spliceMember } from "./json-splice.js";
import { dockerConfigTargetSchema } from "./schema.js";

const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** The file operations the target uses: swappable so tests can fail one of them mid-write. */
export type DockerConfigFs = Pick<typeof nodeFs, "readFile" | "stat" | "open" | "rename" | "mkdir" | "rm" | "realpath">;

export interface DockerConfigTargetOptions {
  /** Home directory for `~`; default os.homedir(). */
  readonly home?: string;
  /** Replaces some file operations (tests). */
  readonly fs?: Partial<DockerConfigFs>;
}

/** One queue per file across every instance in the process: two deliveries never interleave their read-modify-write. */
const queues = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, run: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(run, run);
  const tail = next.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return next;
}

/**
 * `docker-config`: the `auths["<registry host>"]` entry of one docker config.json, as
 * `{ "auth": base64("user:pass") }` (what `docker login` writes). Every other key and registry
 * is kept byte-for-byte (see json-splice.ts), and so is the file's mode. The write is atomic
 * (replaceFile, @pullkeeper/files): a temp file in the same directory is written, given the
 * file's mode, fsynced, then renamed over the file, and the directory is fsynced; a failure at any
 * point leaves the old file as it was and removes the temp file. A symlinked config.json is
 * followed, so the link survives.
 */
export class DockerConfigTarget implements DeliveryTarget {
  readonly kind = "docker-config";
  readonly schema = dockerConfigTargetSchema;
  readonly #home: string;
  readonly #fs: DockerConfigFs;

  constructor(options: DockerConfigTargetOptions = {}) {
    this.#home = options.home ?? homedir();
    this.#fs = { ...nodeFs, ...options.fs };
  }

  provider(_consumer: Consumer): string {
    return "docker-config";
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target = parseTargetConfig(this.schema, context.consumer);
    const path = resolve(expandHome(target.path, this.#home));
    return serialized(path, () => this.#update(path, context));
  }

  async #update(path: string, context: DeliveryContext): Promise<DeliveryOutcome> {
    const fs = this.#fs;
    const key = dockerConfigKey(context.registry);
    const real = (await io(path, "resolving", () => missingOk(fs.realpath(path)))) ?? path;
    const before = await io(real, "reading", () => missingOk(fs.readFile(real, "utf8")));

    const entry = { auth: Buffer.from(`${context.credential.username}:${context.credential.password.reveal()}`, "utf8").toString("base64") };
    let after: string;
    let mode: number;
    let owner: { uid: number; gid: number } | undefined;
    let notes: string[] = [];
    if (before === undefined) {
      after = newDocument({ auths: { [key]: entry } });
      mode = 0o600;
      await io(dirname(real), "creating the directory", () => fs.mkdir(dirname(real), { recursive: true, mode: 0o700 }));
    } else {
      const doc = parseDocument(real, before);
      const stat = await io(real, "reading the mode of", () => fs.stat(real));
      mode = stat.mode & 0o7777;
      owner = { uid: stat.uid, gid: stat.gid };
      notes = helperNotes(doc, key);
      after = spliceMember(before, doc, "auths", key, entry) ?? reserialize(before, { ...doc, auths: { ...(doc.auths as Record<string, unknown> | null), [key]: entry } });
    }

    const where = `docker config ${real}`;
    // The file's owner is kept when running as root (a user's config written by a root service).
    if (after !== before) await io(real, "writing", () => replaceFile(real, after, { mode, owner, fs }));
    // Read back: the file on disk now holds the entry (and still parses).
    const check = parseDocument(real, await io(real, "reading back", () => fs.readFile(real, "utf8")));
    const held = (check.auths as Record<string, { auth?: unknown }> | undefined)?.[key]?.auth;
    if (held !== entry.auth) throw new DeliveryError("unavailable", `${where}: the auths entry ${key} read back differs from what was written (another writer?)`, { retryable: true });
    const action = after === before ? "already held the current login" : before === undefined ? `created (mode ${octal(mode)}) with` : `updated (mode ${octal(mode)} kept); only`;
    return {
      status: "verified",
      detail: [`${where} ${action} auths entry ${key} for version ${context.versionId}, read back`, ...notes].join("; "),
    };
  }
}

/** The key of the registry in `auths`: Docker Hub is keyed as `docker login` keys it. */
export function dockerConfigKey(registry: Registry): string {
  if (registry.kind === "dockerhub" || DOCKER_HUB_HOSTS.has(registry.host.toLowerCase())) return "https://index.docker.io/v1/";
  return registry.host;
}

/** JSON.parse's message quotes the text (which holds logins): the error names the file only. */
function parseDocument(path: string, text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new DeliveryError("invalid_target", `docker config ${path} is not valid JSON; left unchanged`, { retryable: false });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new DeliveryError("invalid_target", `docker config ${path} does not hold a JSON object; left unchanged`, { retryable: false });
  }
  const auths = (doc as Record<string, unknown>).auths;
  if (auths !== undefined && auths !== null && (typeof auths !== "object" || Array.isArray(auths))) {
    throw new DeliveryError("invalid_target", `docker config ${path}: "auths" is not an object; left unchanged`, { retryable: false });
  }
  return doc as Record<string, unknown>;
}

/** docker reads a registry's login from a credential helper, not `auths`, when one is configured for it. */
function helperNotes(doc: Record<string, unknown>, key: string): string[] {
  const helpers = doc.credHelpers;
  const helper = typeof helpers === "object" && helpers !== null ? (helpers as Record<string, unknown>)[key] : undefined;
  if (typeof helper === "string" && helper !== "") {
    return [`note: credHelpers sends ${key} to docker-credential-${helper}, so the docker CLI reads this login from that helper, not from auths`];
  }
  if (typeof doc.credsStore === "string" && doc.credsStore !== "") {
    return [`note: credsStore is ${doc.credsStore}, so the docker CLI reads logins from docker-credential-${doc.credsStore}, not from auths (tools that read auths directly see this one)`];
  }
  return [];
}

async function missingOk<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if ((error as { code?: unknown } | undefined)?.code === "ENOENT") return undefined;
    throw error;
  }
}

/** EACCES/EPERM/EROFS forbidden · EISDIR/ENOTDIR invalid_target · other I/O (ENOSPC, EIO, a vanished directory…) unavailable, retryable. */
async function io<T>(path: string, action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    const raw = (error as { code?: unknown } | undefined)?.code;
    const code = typeof raw === "string" && /^[A-Z0-9_]{1,40}$/.test(raw) ? raw : "EIO";
    const text = `docker config ${path}: ${code} while ${action}`;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") throw new DeliveryError("forbidden", `${text}: permission denied`, { retryable: false });
    if (code === "EISDIR" || code === "ENOTDIR") throw new DeliveryError("invalid_target", `${text}: not a regular file path`, { retryable: false });
    throw new DeliveryError("unavailable", text, { retryable: true });
  }
}


function expandHome(path: string, home: string): string {
  return path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/** What the module loads (module.ts). */
const createTarget: TargetFactory = () => new DockerConfigTarget();
export default createTarget;
