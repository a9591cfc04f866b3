import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../net.js";

export const DOCKER_REGISTRY_BIN = "/usr/bin/docker-registry";
// Ties the registry's life to ours at the kernel level: it gets SIGKILL even when this
// process is killed outright and no "exit" handler runs.
const SETPRIV_BIN = "/usr/bin/setpriv";

export interface DockerRegistryOptions {
  /** Holds config.yml and the registry's storage (data/). */
  readonly dir: string;
  readonly htpasswdPath: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly realm?: string;
}

export interface RunningRegistry {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** 127.0.0.1:<port> */
  readonly host: string;
  stop(): Promise<void>;
}

/** Debian's docker-registry (Distribution 2.8), if installed. */
export function dockerRegistryAvailable(): boolean {
  return existsSync(DOCKER_REGISTRY_BIN);
}

export class PortTaken extends Error {}

/** Starts Docker Distribution with htpasswd auth on 127.0.0.1 and waits until it answers /v2/. */
export async function startDockerRegistry(options: DockerRegistryOptions): Promise<RunningRegistry> {
  if (!dockerRegistryAvailable()) throw new Error(`${DOCKER_REGISTRY_BIN} not found: apt-get install docker-registry`);
  // Another process can take a free port between our probe and the registry's bind.
  for (let attempt = 1; ; attempt++) {
    const port = options.port || (await freePort());
    try {
      return await launch(options, port);
    } catch (error) {
      if (attempt >= 3 || options.port || !(error instanceof PortTaken)) throw error;
    }
  }
}

async function launch(options: DockerRegistryOptions, port: number): Promise<RunningRegistry> {
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  await mkdir(options.dir, { recursive: true });
  const configPath = join(options.dir, "config.yml");
  // JSON strings are valid YAML scalars, which spares us quoting rules for paths.
  // No `http.debug` section: 2.8 then starts no debug server, so there is one port.
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
      `    rootdirectory: ${JSON.stringify(join(options.dir, "data"))}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${JSON.stringify(host)}`,
      // Fixed, so the registry does not warn about generating one on every start.
      `  secret: ${JSON.stringify(`pullkeeper-${port}`)}`,
      "auth:",
      "  htpasswd:",
      `    realm: ${JSON.stringify(options.realm ?? "pullkeeper")}`,
      `    path: ${JSON.stringify(options.htpasswdPath)}`,
      "",
    ].join("\n"),
  );

  const args = ["serve", configPath];
  const spawnOptions = { env: registryEnv(), stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"] };
  const child = existsSync(SETPRIV_BIN)
    ? spawn(SETPRIV_BIN, ["--pdeathsig", "SIGKILL", DOCKER_REGISTRY_BIN, ...args], spawnOptions)
    : spawn(DOCKER_REGISTRY_BIN, args, spawnOptions);
  let log = "";
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
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
  return { url, host, stop };
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

