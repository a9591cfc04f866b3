import { DynamoLedger } from "@pullkeeper/aws";
import { htpasswdSourceOf, type PullkeeperConfig } from "@pullkeeper/core";
import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { InProcessBus } from "./bus/in-process-bus.js";
import { type EmbeddedDynamo, startEmbeddedDynamo } from "./dynamo/embedded-dynamo.js";
import { dockerRegistryAvailable, type RunningRegistry, startDockerRegistry } from "./registry/docker-registry.js";
import { randomToken, readOrCreate } from "./state-files.js";
import { LocalVault } from "./vault/local-vault.js";

export const LEDGER_TABLE = "pullkeeper-ledger";

/** The long-lived parts every config generation shares: state files, vault, DynamoDB, bus, served registries. */
export interface EmbeddedStores {
  readonly adminTokenPath: string;
  readonly adminToken: string;
  readonly fingerprintKey: Buffer;
  readonly vault: LocalVault;
  readonly dynamo: EmbeddedDynamo;
  readonly ledger: DynamoLedger;
  readonly bus: InProcessBus;
  /** The docker-registries serving htpasswd registries (those that started). */
  readonly registries: readonly RunningRegistry[];
}

/**
 * Starts the stores in `stateDir` (which exists) for `config`'s registries. Each part's stop is
 * pushed onto `stops` as soon as it runs, so a failure part-way still stops what started.
 */
export async function startEmbeddedStores(options: {
  readonly stateDir: string;
  readonly config: PullkeeperConfig;
  readonly log: (line: string) => void;
  readonly stops: (() => Promise<void>)[];
}): Promise<EmbeddedStores> {
  const { stateDir, config, log, stops } = options;
  const adminTokenPath = join(stateDir, "admin-token");
  const adminToken = (await readOrCreate(adminTokenPath, randomToken)).value;
  const fingerprintKey = Buffer.from((await readOrCreate(join(stateDir, "fingerprint.key"), () => randomToken())).value, "base64url");

  const vault = new LocalVault({ dir: join(stateDir, "vault") });
  const dynamo = await startEmbeddedDynamo({ dir: join(stateDir, "dynamo"), tableName: LEDGER_TABLE, log });
  stops.push(() => dynamo.stop());
  const ledger = new DynamoLedger({ tableName: dynamo.tableName, client: dynamo.client });
  const bus = new InProcessBus();
  stops.push(async () => {
    bus.close();
    await bus.drain();
  });
  for (const registry of config.registries) await vault.createSecret(registry.secret);

  const registries: RunningRegistry[] = [];
  for (const registry of config.registries) {
    const source = htpasswdSourceOf(registry);
    if (!source?.serve) continue;
    if (!dockerRegistryAvailable()) {
      log(`registry ${registry.id}: docker-registry is not installed (apt-get install docker-registry); not serving it, everything else runs`);
      continue;
    }
    await mkdir(dirname(source.file), { recursive: true });
    await access(source.file).catch(() => writeFile(source.file, "", { mode: 0o600 }));
    try {
      const served = await startDockerRegistry({ dir: join(stateDir, "registries", registry.id), htpasswdPath: source.file, port: source.serve.port, realm: `pullkeeper ${registry.id}` });
      registries.push(served);
      stops.push(() => served.stop());
      log(`registry ${registry.id}: docker-registry serving on ${served.url}`);
    } catch (error) {
      log(`registry ${registry.id}: docker-registry did not start: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  return { adminTokenPath, adminToken, fingerprintKey, vault, dynamo, ledger, bus, registries };
}
