import { HtpasswdFile } from "@pullkeeper/registry";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type RunningRegistry, startDockerRegistry } from "../../packages/local/src/registry/docker-registry.js";
import { type EmbeddedDynamo, startDynalite } from "./dynalite.js";
import { lateBound } from "./late-bound.js";

/** The two users an htpasswd registry's rotation alternates between in these tests. */
export const BLUE = "pullkeeper-blue";
export const GREEN = "pullkeeper-green";

/** What useHtpasswdRegistry sets up for a test file; read its fields inside tests and hooks. */
export interface HtpasswdRegistryWorld {
  /** The temporary directory: `htpasswd` and the registry's storage are below it. */
  readonly dir: string;
  /** The htpasswd file (bcrypt cost 5) the registry reads, empty at the start. */
  readonly htpasswd: HtpasswdFile;
  readonly registry: RunningRegistry;
  readonly dynamo: EmbeddedDynamo;
  /** The status GET /v2/ answers with that Basic login: 200 for a valid one, 401 otherwise. */
  basic(username: string, password: string): Promise<number>;
  /** This registry as an entry under a config's `registries:`, rotating BLUE and GREEN daily, verified against it. */
  registryYaml(id: string, secret: string): string;
}

/**
 * Registers beforeAll/afterAll hooks for a real docker-registry reading an htpasswd file in a
 * fresh temporary directory (named with `prefix`), and dynalite for the ledger; removes them after.
 */
export function useHtpasswdRegistry(prefix: string): HtpasswdRegistryWorld {
  const world = lateBound<HtpasswdRegistryWorld>("useHtpasswdRegistry");
  let started: { dir: string; registry: RunningRegistry; dynamo: EmbeddedDynamo } | undefined;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    await writeFile(join(dir, "htpasswd"), "", { mode: 0o600 });
    const htpasswd = new HtpasswdFile(join(dir, "htpasswd"), { cost: 5 });
    const registry = await startDockerRegistry({ dir: join(dir, "registry"), htpasswdPath: htpasswd.path });
    const dynamo = await startDynalite().catch(async (error: unknown) => {
      await registry.stop();
      throw error;
    });
    started = { dir, registry, dynamo };
    world.set({
      dir,
      htpasswd,
      registry,
      dynamo,
      basic: async (username, password) =>
        (await fetch(`${registry.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` } })).status,
      registryYaml: (id, secret) => `  - id: ${id}
    host: ${registry.host}
    kind: generic
    source: { type: htpasswd, file: ${htpasswd.path}, users: [${BLUE}, ${GREEN}], rotation: rate(1 day) }
    secret: ${secret}
    verify: { endpoint: "${registry.url}" }
`,
    });
  });
  afterAll(async () => {
    if (started === undefined) return;
    await Promise.all([started.registry.stop(), started.dynamo.stop()]);
    await rm(started.dir, { recursive: true, force: true });
  });
  return world.view;
}
