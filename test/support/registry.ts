import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rename, rm, utimes, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import bcrypt from "bcryptjs";

const REGISTRY_BIN = "/usr/bin/docker-registry";
// Ties the registry's life to ours at the kernel level: it gets SIGKILL even when this
// process is killed outright and no "exit" handler runs.
const SETPRIV_BIN = "/usr/bin/setpriv";

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
  if (!existsSync(REGISTRY_BIN)) {
    throw new Error(`${REGISTRY_BIN} not found: run \`apt-get install docker-registry\` to run the registry integration tests`);
  }
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-registry-"));
  const htpasswd = new Htpasswd(join(dir, "htpasswd"));
  await htpasswd.write(users);
  try {
    // Another process can take the free port between our probe and the registry's bind.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dir, await freePort(), htpasswd);
      } catch (error) {
        if (attempt >= 3 || !(error instanceof PortTaken)) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

class PortTaken extends Error {}

async function launch(dir: string, port: number, htpasswd: Htpasswd): Promise<TestRegistry> {
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const configPath = join(dir, "config.yml");
  // JSON strings are valid YAML scalars, which spares us quoting rules for the temp path.
  // No `http.debug` section: 2.8 then starts no debug server, so there is one port to find.
  await writeFile(
    configPath,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${JSON.stringify(join(dir, "data"))}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${JSON.stringify(host)}`,
      // Fixed, so the registry does not warn about generating one on every start.
      `  secret: ${JSON.stringify(`pullkeeper-test-${port}`)}`,
      "auth:",
      "  htpasswd:",
      "    realm: pullkeeper-test",
      `    path: ${JSON.stringify(htpasswd.path)}`,
      "",
    ].join("\n"),
  );

  const args = ["serve", configPath];
  const child = existsSync(SETPRIV_BIN)
    ? spawn(SETPRIV_BIN, ["--pdeathsig", "SIGKILL", REGISTRY_BIN, ...args], { env: registryEnv(), stdio: ["ignore", "pipe", "pipe"] })
    : spawn(REGISTRY_BIN, args, { env: registryEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const stop = async (): Promise<void> => {
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    await waitUntilServing(url, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    host,
    setUsers: (next) => htpasswd.write(next),
    pushImage: (repository, tag, login) => pushImage(url, repository, tag, login),
    stop: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The registry reads REGISTRY_* variables as config overrides; none from the outside may leak in. */
function registryEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("REGISTRY_")));
}

async function waitUntilServing(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const text = log();
      const Failure = text.includes("address already in use") ? PortTaken : Error;
      throw new Failure(`docker-registry exited before serving (${child.exitCode ?? child.signalCode}):\n${text}`);
    }
    try {
      const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      // The header proves the answer came from our registry, not whatever else holds the port.
      if (response.headers.get("docker-distribution-api-version") === "registry/2.0") return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not answer on ${url} within 15 s:\n${log()}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
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

async function pushImage(url: string, repository: string, tag: string, login: RegistryLogin): Promise<string> {
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
