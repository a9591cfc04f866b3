import type { DynamoLedger } from "@pullkeeper/aws";
import { deliveryTargets } from "@pullkeeper/aws/lambda";
import { type AuditScanService, type DeliveryTarget, isRotated, type PropagationService, type PullkeeperConfig, type Registry, type RotationStep } from "@pullkeeper/core";
import { resolve } from "node:path";
import type { InProcessBus } from "./bus/in-process-bus.js";
import { watchConfigFile } from "./config-watch.js";
import { consumerChanges, loadConfig, type ReloadOutcome, registryChanges } from "./config-changes.js";
import { startEmbeddedStores } from "./embedded-stores.js";
import { type Generation, generationBuilder } from "./generation.js";
import { type RunningServer, startLocalServer } from "./http/server.js";
import { localSecretWrites } from "./local-secrets.js";
import { LocalDeliveryQueue } from "./queue/local-delivery-queue.js";
import { RevocationRuns } from "./revocation-runs.js";
import { DEFAULT_PORT, writeRuntimeFile } from "./runtime-file.js";
import { ensureStateDir } from "./state-files.js";
import type { LocalVault } from "./vault/local-vault.js";

export { DEFAULT_PORT };
export { LEDGER_TABLE } from "./embedded-stores.js";
export type { ReloadOutcome };

export interface RuntimeOptions {
  readonly configPath: string;
  /** `.pullkeeper/` by default: vault, DynamoDB store, admin token, served registries. */
  readonly stateDir: string;
  readonly port?: number;
  readonly log?: (line: string) => void;
  /** Serve HTTP (`dev`); off for one-shot CLI commands. */
  readonly serve?: boolean;
  /** Run the schedules (`dev`); off for one-shot CLI commands. */
  readonly schedule?: boolean;
  /** bcrypt cost for htpasswd entries (tests lower it). */
  readonly htpasswdCost?: number;
  /** Test seam: runs after each rotation step, so a test can kill the process between steps. */
  readonly afterRotationStep?: (step: RotationStep, token: string) => Promise<void> | void;
  /** Test seam: runs inside finishSecret after the vault promoted, before the ledger records it. */
  readonly afterRotationPromote?: (token: string) => Promise<void> | void;
  /** Delivery targets beyond the built-in ones (tests, the bench's fake provider). */
  readonly extraTargets?: readonly DeliveryTarget[];
  /** Deliveries running at once (default 8) and the first retry's backoff (default 1 s). */
  readonly delivery?: { readonly concurrency?: number; readonly baseBackoffMs?: number; readonly timeoutMs?: number };
  /** Reload the config when its file changes (`dev`); see reload(). */
  readonly watchConfig?: boolean;
}

/** SQS's maxReceiveCount and the local queue's attempts: one number for both, as on AWS. */
const MAX_DELIVERY_ATTEMPTS = 5;

type AuditApi = ReturnType<Generation["auditApi"]>;

/**
 * pullkeeper on one machine: the same functions (refresh, rotate, api) and the same core as on
 * AWS, with embedded stand-ins for the AWS services — dynalite for DynamoDB, an encrypted file
 * vault for Secrets Manager, an in-process bus and scheduler for EventBridge. This class is the
 * process's lifecycle: start, reload, stop; what runs is built per config in generation.ts.
 */
export class EmbeddedRuntime {
  readonly adminTokenPath: string;
  readonly server: RunningServer | undefined;
  readonly vault: LocalVault;
  readonly ledger: DynamoLedger;
  readonly bus: InProcessBus;
  readonly queue: LocalDeliveryQueue;
  readonly #stop: (() => Promise<void>)[];
  readonly #current: () => Generation;
  readonly #reload: () => Promise<ReloadOutcome>;
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    adminTokenPath: string;
    server: RunningServer | undefined;
    vault: LocalVault;
    ledger: DynamoLedger;
    bus: InProcessBus;
    queue: LocalDeliveryQueue;
    stop: (() => Promise<void>)[];
    current: () => Generation;
    reload: () => Promise<ReloadOutcome>;
  }) {
    this.adminTokenPath = parts.adminTokenPath;
    this.server = parts.server;
    this.vault = parts.vault;
    this.ledger = parts.ledger;
    this.bus = parts.bus;
    this.queue = parts.queue;
    this.#stop = parts.stop;
    this.#current = parts.current;
    this.#reload = parts.reload;
  }

  /** The config running now (it changes on reload). */
  get config(): PullkeeperConfig {
    return this.#current().config;
  }

  get propagation(): PropagationService {
    return this.#current().propagation;
  }

  get audit(): AuditScanService {
    return this.#current().audit;
  }

  /** The audit API over this runtime's state, as the HTTP server serves it. */
  auditApi(): AuditApi {
    return this.#current().auditApi();
  }

  static async start(options: RuntimeOptions): Promise<EmbeddedRuntime> {
    const log = options.log ?? ((line: string) => console.error(line));
    // Validated before anything is written; the reader is bound to the vault once it exists.
    let vaultForTargets: LocalVault | undefined;
    const targets = await deliveryTargets({
      extra: options.extraTargets ?? [],
      readCredential: async (id) => {
        if (!vaultForTargets) throw new Error("the vault is not open yet");
        return (await vaultForTargets.read(id, { stage: "AWSCURRENT" })).credential;
      },
    });
    // A bad config fails here, before anything is created or written.
    const { config, consumers } = loadConfig(options.configPath, targets);
    const stateDir = resolve(options.stateDir);
    await ensureStateDir(stateDir);
    const stops: (() => Promise<void>)[] = [];
    const stopAll = async () => {
      for (const stop of stops.splice(0).reverse()) await stop().catch((e: unknown) => log(`shutdown: ${(e as Error).message}`));
    };

    try {
      const stores = await startEmbeddedStores({ stateDir, config, log, stops });
      const { vault, ledger, bus } = stores;
      vaultForTargets = vault;

      // The generation every new request, delivery, event and scheduled run starts with; set below.
      let current: Generation | undefined;
      const now = (): Generation => {
        if (!current) throw new Error("the runtime is not started yet");
        return current;
      };

      const revocations = new RevocationRuns({ run: () => now().revoke(), anyRotated: () => now().config.registries.some(isRotated), log });
      stops.push(() => revocations.stop());

      // Propagation: the queue's workers call the delivery function's handler with an SQS-shaped
      // event, of the generation current when the attempt starts: a consumer removed since it was
      // queued is skipped as unknown, one whose target changed gets the new target.
      const queue = new LocalDeliveryQueue({
        concurrency: options.delivery?.concurrency ?? 8,
        maxAttempts: MAX_DELIVERY_ATTEMPTS,
        baseBackoffMs: options.delivery?.baseBackoffMs ?? 1_000,
        log,
        handle: async (request, attempt) => {
          const out = await now().deliver(request, attempt.number);
          revocations.soon();
          if (out.batchItemFailures.length > 0) throw new Error(`delivery to ${request.consumerId} failed this time; retrying`);
        },
      });
      stops.push(() => queue.stop());
      bus.subscribe({ source: ["pullkeeper"], "detail-type": ["Credential Rotated"] }, async (envelope) => {
        await now().onSecretChange(envelope);
      });

      const build = generationBuilder({ stores, targets, queue, revocations, options, log });
      current = build(config, consumers, true);

      // Schedules of generations a reload replaced, stopping once their runs in flight end.
      const retiring = new Set<Promise<void>>();
      stops.push(async () => {
        await Promise.all([now().scheduler.stop(), ...retiring]);
      });

      let stopped = false;
      const reloadOnce = async (): Promise<ReloadOutcome> => {
        if (stopped) return { applied: false, reason: "the runtime is stopping" };
        const previous = now();
        let loaded: ReturnType<typeof loadConfig>;
        try {
          loaded = loadConfig(options.configPath, targets);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          log(`config: not reloaded, still running the previous one: ${reason}`);
          return { applied: false, reason };
        }
        let { config: next, consumers: nextConsumers } = loaded;
        // Registries own a secret, maybe a served docker-registry on a port, and rotation
        // schedules; switching them under a running rotation is not worth its risks for a dev loop.
        const registryChange = registryChanges(previous.config.registries, next.registries);
        if (registryChange !== undefined) {
          const running = new Set(previous.config.registries.map((r) => r.id));
          const waiting = nextConsumers.filter((c) => !running.has(c.registryId)).map((c) => c.id);
          log(
            `config: registry changes need a restart of dev (${registryChange}); the running registries stay as they are` +
              (waiting.length > 0 ? `, and their new consumers wait for the restart: ${waiting.join(", ")}` : ""),
          );
          next = { ...next, registries: previous.config.registries, consumers: next.consumers.filter((c) => running.has(c.registry)) };
          nextConsumers = nextConsumers.filter((c) => running.has(c.registryId));
        }
        if (JSON.stringify(next) === JSON.stringify(previous.config)) {
          if (registryChange === undefined) log("config: reloaded, nothing changed");
          return { applied: false, reason: "nothing changed" };
        }
        let generation: Generation;
        try {
          generation = build(next, nextConsumers, false);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          log(`config: not reloaded, still running the previous one: ${reason}`);
          return { applied: false, reason };
        }
        current = generation;
        if (options.schedule !== false) generation.scheduler.start();
        const retired = previous.scheduler.stop().finally(() => retiring.delete(retired));
        retiring.add(retired);

        const { added, changed, removed } = consumerChanges(previous.consumers, nextConsumers);
        const said = [added.length > 0 && `added ${added.join(", ")}`, changed.length > 0 && `changed ${changed.join(", ")}`, removed.length > 0 && `removed ${removed.join(", ")}`].filter(Boolean);
        log(`config: reloaded${said.length > 0 ? `: consumers ${said.join("; ")}` : ""}`);
        // New consumers, and those delivered elsewhere now, get the current version at once rather than at the next reconcile.
        const due = new Set([...added, ...changed]);
        for (const registryId of new Set(nextConsumers.filter((c) => due.has(c.id)).map((c) => c.registryId))) {
          const consumerIds = nextConsumers.filter((c) => c.registryId === registryId && due.has(c.id)).map((c) => c.id);
          try {
            const planned = await generation.propagation.propagate(registryId, { force: true, consumerIds });
            if (planned.requested === 0 && planned.reason) log(`config: registry ${registryId}: nothing delivered to ${consumerIds.join(", ")}: ${planned.reason}`);
          } catch (error) {
            log(`config: registry ${registryId}: delivering to ${consumerIds.join(", ")} failed (${(error as Error).message}); the next reconcile tries again`);
          }
        }
        return { applied: true, added, changed, removed, registriesKept: registryChange !== undefined };
      };
      // One reload at a time, in the order asked: a save during a reload is read after it.
      let reloading: Promise<ReloadOutcome> | undefined;
      const reload = (): Promise<ReloadOutcome> => {
        const run = (reloading ?? Promise.resolve()).then(reloadOnce, reloadOnce);
        reloading = run;
        return run;
      };

      let server: RunningServer | undefined;
      if (options.serve !== false) {
        server = await startLocalServer({
          port: options.port ?? DEFAULT_PORT,
          adminToken: stores.adminToken,
          api: (event, context) => now().api(event, context),
          health: () => ({ registries: now().config.registries.length, served: stores.registries.map((r) => r.url), schedules: Object.fromEntries([...now().scheduler.nextRuns()].map(([k, v]) => [k, v?.toISOString() ?? null])) }),
          // `pullkeeper secret put` while this runtime runs: written here, then announced as a Secrets Manager change.
          secrets: localSecretWrites(vault, (event) => now().onSecretChange(event), log),
        });
        stops.push(() => server?.close() ?? Promise.resolve());
        // Removed before the server closes: the CLI then stops looking for it there.
        stops.push(await writeRuntimeFile(stateDir, server));
      }
      if (options.schedule !== false) now().scheduler.start();
      if (options.watchConfig) stops.push(watchConfigFile(options.configPath, () => void reload(), { log }));
      // First of all at stop: no reload starts, and one under way finishes before the schedules stop.
      stops.push(async () => {
        stopped = true;
        await reloading;
      });

      return new EmbeddedRuntime({ adminTokenPath: stores.adminTokenPath, server, vault, ledger, bus, queue, stop: [stopAll], current: now, reload });
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  /** Refresh or rotate one registry now, as POST /v1/registries/{id}/refresh does. */
  refresh(registry: Registry, force = false): Promise<unknown> {
    return this.#current().refreshNow(registry, force);
  }

  /**
   * Reads the config file again and switches to it (`dev` calls it when the file changes and on
   * SIGHUP). A file that does not validate is logged with its issues and changes nothing; changes
   * to registries are logged and wait for a restart (the rest of the file applies); new consumers,
   * and consumers whose target changed, get the current version at once.
   */
  reload(): Promise<ReloadOutcome> {
    return this.#reload();
  }

  /** Graceful: schedules stop, runs in flight finish, the bus drains, then stores close. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const stop of this.#stop) await stop();
    })();
    return this.#stopping;
  }
}
