import { createHash } from "node:crypto";
import { mkdtemp, rename, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import bcrypt from "bcryptjs";
import { DOCKER_REGISTRY_BIN, dockerRegistryAvailable, startDockerRegistry } from "../../packages/local/src/registry/docker-registry.js";


export interface RegistryLogin {
  readonly username: string;
  readonly password: string;
}

export interface TestRegistry {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** 127.0.0.1:<port>, as a VerifyRequest wants it. */
  readonly host: string;
  /** Replaces every login at once; the registry picks the new file up on its next request. */
  setUsers(users: Record<string, string>): Promise<void>;
  /** Pushes a one-layer image; returns the manifest digest. */
  pushImage(repository: string, tag: string, login: RegistryLogin): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a real Docker Distribution registry with htpasswd auth on a free loopback port. */
export async function startRegistry(users: Record<string, string>): Promise<TestRegistry> {
  if (!dockerRegistryAvailable()) {
    throw new Error(`${DOCKER_REGISTRY_BIN} not found: run \`apt-get install docker-registry\` to run the registry integration tests`);
  }
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-registry-"));
  const htpasswd = new Htpasswd(join(dir, "htpasswd"));
  try {
    await htpasswd.write(users);
    const registry = await startDockerRegistry({ dir, htpasswdPath: htpasswd.path, realm: "pullkeeper-test" });
    return {
      url: registry.url,
      host: registry.host,
      setUsers: (next) => htpasswd.write(next),
      pushImage: (repository, tag, login) => pushImage(registry.url, repository, tag, login),
      stop: async () => {
        await registry.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The registry re-reads its htpasswd file when the file's mtime changes, on every request,
 * and answers 400 while the file is missing: so a new file is renamed over the old one, and
 * given an mtime strictly later than the last, because two writes within one clock tick of
 * the filesystem would otherwise look unchanged.
 */
class Htpasswd {
  #generation = 0;
  #mtime = 0;

  constructor(readonly path: string) {}

  async write(users: Record<string, string>): Promise<void> {
    const lines = await Promise.all(
      Object.entries(users).map(async ([user, password]) => `${user}:${await bcrypt.hash(password, 5)}`),
    );
    const temp = `${this.path}.${process.pid}.${++this.#generation}`;
    await writeFile(temp, lines.map((line) => `${line}\n`).join(""), { mode: 0o600 });
    this.#mtime = Math.max(Math.floor(Date.now() / 1000), this.#mtime + 1);
    await utimes(temp, this.#mtime, this.#mtime);
    await rename(temp, this.path);
  }
}

/** Pushes a one-layer image to the registry at `url` (or a front of it) with this login; returns the manifest digest. */
export async function pushImage(url: string, repository: string, tag: string, login: RegistryLogin): Promise<string> {
  const authorization = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
  // An empty tar archive is two zeroed 512-byte blocks.
  const tar = Buffer.alloc(1024);
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: [sha256(tar)] },
    }),
  );

  const upload = async (blob: Buffer): Promise<string> => {
    const digest = sha256(blob);
    const started = await call(`${url}/v2/${repository}/blobs/uploads/`, { method: "POST", headers: { authorization } }, 202);
    const location = new URL(started.headers.get("location") ?? "", url);
    location.searchParams.set("digest", digest);
    await call(
      location.href,
      { method: "PUT", headers: { authorization, "content-type": "application/octet-stream" }, body: new Uint8Array(blob) },
      201,
    );
    return digest;
  };

  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.length, digest: await upload(config) },
    layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: layer.length, digest: await upload(layer) }],
  });
  const put = await call(
    `${url}/v2/${repository}/manifests/${tag}`,
    { method: "PUT", headers: { authorization, "content-type": "application/vnd.docker.distribution.manifest.v2+json" }, body: manifest },
    201,
  );
  return put.headers.get("docker-content-digest") ?? sha256(Buffer.from(manifest));
}

async function call(url: string, init: RequestInit, expected: number): Promise<Response> {
  const response = await fetch(url, init);
  if (response.status !== expected) {
    // Method, path and the registry's answer only: the request headers hold the login.
    const body = await response.text();
    throw new Error(`${init.method ?? "GET"} ${new URL(url).pathname} answered ${response.status}, expected ${expected}: ${body}`);
  }
  await response.body?.cancel();
  return response;
}

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}
