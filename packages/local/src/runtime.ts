import { DynamoLedger, DynamoRateLimiter, EcrTokenSource, HmacFingerprinter } from "@pullkeeper/aws";
import { deliveryTargets, rateLimits, readCheckedConfigFile, scheduledEvent } from "@pullkeeper/aws/lambda";
import { AuditApi } from "@pullkeeper/api";
import {
  AuditScanService,
  type Consumer,
  type DeliveryRequest,
  type DeliveryTarget,
  PropagationService,
  toDeliveryMessage,
  isRotated,
  type PullkeeperConfig,
  RefreshService,
  restartThroughTarget,
  type Registry,
  type RotatedRegistry,
  RotationService,
  type RotationStep,
  htpasswdRevoker,
  LedgerRepair,
  RevocationService,
  whenUnlocked,
  RollbackService,
  systemClock,
} from "@pullkeeper/core";
import { dashboardAssets } from "@pullkeeper/dashboard";
import { HtpasswdFile, RandomPasswords, RegistryV2Verifier } from "@pullkeeper/registry";
import type { Context } from "aws-lambda";
import { randomUUID } from "node:crypto";
import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { createApiHandler } from "@pullkeeper/aws/lambda/handlers/api";
import { createAuditScanHandler } from "@pullkeeper/aws/lambda/handlers/audit-scan";
import { createDeliverHandler } from "@pullkeeper/aws/lambda/handlers/deliver";
import { createOnSecretChangeHandler } from "@pullkeeper/aws/lambda/handlers/on-secret-change";
import { createReconcileHandler } from "@pullkeeper/aws/lambda/handlers/reconcile";
import { createRefreshHandler, type RefreshEvent } from "@pullkeeper/aws/lambda/handlers/refresh";
import { createRevokeHandler } from "@pullkeeper/aws/lambda/handlers/revoke";
import { createRotateHandler } from "@pullkeeper/aws/lambda/handlers/rotate";
import { InProcessBus } from "./bus/in-process-bus.js";
import { watchConfigFile } from "./config-watch.js";
import { LocalDeliveryQueue } from "./queue/local-delivery-queue.js";
import { startEmbeddedDynamo } from "./dynamo/embedded-dynamo.js";
import { type ApiHandler, type RunningServer, startLocalServer } from "./http/server.js";
import { dockerRegistryAvailable, type RunningRegistry, startDockerRegistry } from "./registry/docker-registry.js";
import { parseSchedule } from "./scheduler/schedule-expression.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { ensureStateDir, randomToken, readOrCreate } from "./state-files.js";
import { DEFAULT_PORT, writeRuntimeFile } from "./runtime-file.js";
import { localSecretWrites } from "./local-secrets.js";
import { LocalVault } from "./vault/local-vault.js";

export { DEFAULT_PORT };
export const LEDGER_TABLE = "pullkeeper-ledger";

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

function sqsEvent(request: DeliveryRequest, receive: number) {
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: "local",
        body: toDeliveryMessage(request),
        attributes: { ApproximateReceiveCount: String(receive), SentTimestamp: String(Date.now()), SenderId: "local", ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:local:000000000000:pullkeeper-deliveries",
        awsRegion: "local",
      },
    ],
  };
}

const lambdaContext = (name: string) => ({ functionName: name, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 300_000 }) as unknown as Context;

const scheduled = (detail: RefreshEvent["detail"]): RefreshEvent => scheduledEvent(detail, "local");

/** Relative htpasswd paths in the config are relative to the config file, not to the shell. */
function anchored(config: PullkeeperConfig, configPath: string): PullkeeperConfig {
  const base = dirname(resolve(configPath));
  return {
    ...config,
    registries: config.registries.map((r) => (isRotated(r) ? { ...r, source: { ...r.source, file: resolve(base, r.source.file) } } : r)),
  };
}

/**
 * The config file, read and checked (the same check as `pullkeeper validate` and the deploy):
 * the one place the start and every reload go through.
 */
function loadConfig(configPath: string, targets: ReadonlyMap<string, DeliveryTarget>): { config: PullkeeperConfig; consumers: readonly Consumer[] } {
  const checked = readCheckedConfigFile(configPath, targets);
  return { config: anchored(checked.config, configPath), consumers: checked.consumers };
}

/** What a reload did: nothing (the file is bad, or says what is already running), or which consumers came, changed and went. */
export type ReloadOutcome =
  | { readonly applied: false; readonly reason: string }
  | {
      readonly applied: true;
      readonly added: readonly string[];
      readonly changed: readonly string[];
      readonly removed: readonly string[];
      /** The new file changes registries: they stay as they run until dev restarts. */
      readonly registriesKept: boolean;
    };

/**
 * Everything built from one reading of the config file: the services, the function handlers
 * bound to them, and the schedules. A reload builds the next one, then switches to it; a request,
 * delivery, event or scheduled run takes the generation that is current when it starts and keeps
 * it to its end, so none sees half of one config and half of another.
 */
interface Generation {
  readonly config: PullkeeperConfig;
  readonly consumers: readonly Consumer[];
  readonly propagation: PropagationService;
  readonly audit: AuditScanService;
  readonly scheduler: Scheduler;
  readonly auditApi: () => AuditApi;
  readonly api: ApiHandler;
  readonly deliver: (request: DeliveryRequest, receive: number) => Promise<{ batchItemFailures: readonly unknown[] }>;
  readonly onSecretChange: (envelope: Parameters<ReturnType<typeof createOnSecretChangeHandler>>[0]) => Promise<unknown>;
  readonly revoke: () => Promise<unknown>;
  readonly refreshNow: (registry: Registry, force: boolean) => Promise<unknown>;
}

/** Which registries differ between two configs, in words; undefined when none does. */
function registryChanges(before: readonly Registry[], after: readonly Registry[]): string | undefined {
  const was = new Map(before.map((r) => [r.id, JSON.stringify(r)]));
  const now = new Map(after.map((r) => [r.id, JSON.stringify(r)]));
  const changes = [
    ...[...now.keys()].filter((id) => !was.has(id)).map((id) => `${id} added`),
    ...[...was.keys()].filter((id) => !now.has(id)).map((id) => `${id} removed`),
    ...[...now].filter(([id, text]) => was.has(id) && was.get(id) !== text).map(([id]) => `${id} changed`),
  ];
  return changes.length > 0 ? changes.join(", ") : undefined;
}

/** Consumers new in `after`, gone from it, or delivered elsewhere now (another target or registry). */
function consumerChanges(before: readonly Consumer[], after: readonly Consumer[]) {
  const where = (c: Consumer) => JSON.stringify([c.registryId, c.target]);
  const was = new Map(before.map((c) => [c.id, where(c)]));
  const now = new Set(after.map((c) => c.id));
  return {
    added: after.filter((c) => !was.has(c.id)).map((c) => c.id),
    changed: after.filter((c) => was.has(c.id) && was.get(c.id) !== where(c)).map((c) => c.id),
    removed: before.filter((c) => !now.has(c.id)).map((c) => c.id),
  };
}

/**
 * pullkeeper on one machine: the same functions (refresh, rotate, api) and the same core as on
 * AWS, with embedded stand-ins for the AWS services — dynalite for DynamoDB, an encrypted file
 * vault for Secrets Manager, an in-process bus and scheduler for EventBridge.
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
    const targets = deliveryTargets({
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
      const adminTokenPath = join(stateDir, "admin-token");
      const adminToken = (await readOrCreate(adminTokenPath, randomToken)).value;
      const fingerprintKey = Buffer.from((await readOrCreate(join(stateDir, "fingerprint.key"), () => randomToken())).value, "base64url");

      const vault = new LocalVault({ dir: join(stateDir, "vault") });
      vaultForTargets = vault;
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
      for (const registry of config.registries.filter(isRotated)) {
        if (!registry.source.serve) continue;
        if (!dockerRegistryAvailable()) {
          log(`registry ${registry.id}: docker-registry is not installed (apt-get install docker-registry); not serving it, everything else runs`);
          continue;
        }
        await mkdir(dirname(registry.source.file), { recursive: true });
        await access(registry.source.file).catch(() => writeFile(registry.source.file, "", { mode: 0o600 }));
        try {
          const served = await startDockerRegistry({ dir: join(stateDir, "registries", registry.id), htpasswdPath: registry.source.file, port: registry.source.serve.port, realm: `pullkeeper ${registry.id}` });
          registries.push(served);
          stops.push(() => served.stop());
          log(`registry ${registry.id}: docker-registry serving on ${served.url}`);
        } catch (error) {
          log(`registry ${registry.id}: docker-registry did not start: ${(error as Error).message.split("\n")[0]}`);
        }
      }

      const adapters = { vault, ledger, bus, fingerprints: new HmacFingerprinter(fingerprintKey), clock: systemClock, verifier: new RegistryV2Verifier() };
      // The credential's life after its rotation: repair after a crash, revocation once unused, rollback.
      const htpasswd = (registry: RotatedRegistry) => new HtpasswdFile(registry.source.file, { ...(options.htpasswdCost !== undefined && { cost: options.htpasswdCost }) });
      const repair = new LedgerRepair(adapters);
      const rollback = new RollbackService({ ...adapters, newToken: randomUUID });

      // The generation every new request, delivery, event and scheduled run starts with; set below.
      let current: Generation | undefined;
      const now = (): Generation => {
        if (!current) throw new Error("the runtime is not started yet");
        return current;
      };

      // Through the revoke function's handler, as its schedule calls it on AWS. Checks asked for
      // while one runs coalesce into one more run after it.
      let revoking: Promise<void> | undefined;
      let revokeAgain = false;
      const revokeTimers = new Set<ReturnType<typeof setTimeout>>();
      const revokeNow = async (): Promise<void> => {
        if (revoking) {
          revokeAgain = true;
          return revoking;
        }
        revoking = (async () => {
          do {
            revokeAgain = false;
            await now()
              .revoke()
              .catch((e: unknown) => log(`revocation check: ${(e as Error).message}`));
          } while (revokeAgain);
        })().finally(() => {
          revoking = undefined;
        });
        return revoking;
      };
      /** After deliveries and scans: soon, once, rather than once per delivery. */
      const revokeSoon = () => {
        if (!now().config.registries.some(isRotated) || revokeTimers.size > 0) return;
        const timer = setTimeout(() => {
          revokeTimers.delete(timer);
          void revokeNow();
        }, 250);
        revokeTimers.add(timer);
      };
      stops.push(async () => {
        for (const t of revokeTimers) clearTimeout(t);
        revokeTimers.clear();
        await revoking;
      });

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
          revokeSoon();
          if (out.batchItemFailures.length > 0) throw new Error(`delivery to ${request.consumerId} failed this time; retrying`);
        },
      });
      stops.push(() => queue.stop());
      bus.subscribe({ source: ["pullkeeper"], "detail-type": ["Credential Rotated"] }, async (envelope) => {
        await now().onSecretChange(envelope);
      });

      /** The services, handlers and schedules of one config; `first`: the runtime's start, when the schedules also run at once. */
      const build = (config: PullkeeperConfig, consumers: readonly Consumer[], first: boolean): Generation => {
        const refreshHandler = createRefreshHandler(async () => ({
          config,
          service: new RefreshService({ ...adapters, tokens: new EcrTokenSource(), policy: { maxJitterSeconds: config.settings.maxJitterSeconds } }),
        }));
        const revocation = new RevocationService({
          ...adapters,
          registries: config.registries,
          consumers,
          targets,
          revoker: (registry) => (isRotated(registry) ? htpasswdRevoker(htpasswd(registry)) : undefined),
          repair,
          clockSkewSeconds: config.settings.clockSkewSeconds,
        });
        const rotation = new RotationService({
          ...adapters,
          passwords: new RandomPasswords(),
          accounts: htpasswd,
          revocation,
          newToken: randomUUID,
          ...(options.afterRotationStep && { afterStep: options.afterRotationStep }),
          ...(options.afterRotationPromote && { afterPromote: options.afterRotationPromote }),
        });
        const revokeHandler = createRevokeHandler(async () => revocation);
        const rotateHandler = createRotateHandler(async () => ({ config, service: rotation }));

        // Each step goes through the rotation function's handler, as Secrets Manager would call it.
        const rotate = async (registry: RotatedRegistry) => {
          // A revocation check or rollback holds the registry's lock for a moment: wait for it rather than
          // fail (Secrets Manager would retry the step too). Another rotation holds it for longer: then say so.
          const result = await whenUnlocked(() =>
            rotation.rotate(registry, async (step, token) => {
              await rotateHandler({ SecretId: registry.secret, ClientRequestToken: token, Step: step }, lambdaContext("pullkeeper-rotate"));
            }),
          );
          // A registry nobody consumes has nothing to wait for: its previous credential can go now.
          revokeSoon();
          return result;
        };
        const refresh = (detail: RefreshEvent["detail"]) => refreshHandler(scheduled(detail), lambdaContext("pullkeeper-refresh"));

        // The handler is only called once the queue has work, by which time `service` exists.
        const deliverHandler = createDeliverHandler(async () => service);
        const service: PropagationService = new PropagationService({
          ...adapters,
          registries: config.registries,
          consumers,
          targets,
          queue,
          rateLimiter: new DynamoRateLimiter({ tableName: dynamo.tableName, client: dynamo.client, limits: rateLimits(config) }),
          ...(options.delivery?.timeoutMs !== undefined && { deliveryTimeoutMs: options.delivery.timeoutMs }),
          // The first retry's backoff, for the engine's retries as for the queue's (tests lower it).
          ...(options.delivery?.baseBackoffMs !== undefined && { retry: { baseMs: options.delivery.baseBackoffMs } }),
        });
        const onSecretChange = createOnSecretChangeHandler(async () => ({ config, service }));
        const reconcile = createReconcileHandler(async () => service);

        const scheduler = new Scheduler({ log });
        const atStart = { runAtStart: first };
        if (consumers.length > 0) {
          // Also at start: a crash may have swallowed the event (or the queued deliveries) of a rotation.
          scheduler.add("reconcile", config.settings.reconcileSchedule, async () => void (await reconcile(scheduled({}), lambdaContext("pullkeeper-reconcile"))), atStart);
        }
        const minted = config.registries.filter((r) => r.source.type === "ecr-token");
        if (minted.length > 0) {
          scheduler.add("refresh", config.settings.refreshSchedule, async () => void (await refresh({})), atStart);
        }
        // A restart must not rotate: only an unfinished rotation, a first one, or one the schedule says is overdue.
        const rotationDue = async (registry: RotatedRegistry): Promise<boolean> => {
          if ((await rotation.unfinishedToken(registry)) !== undefined) return true;
          // A crash after the vault promoted and before the ledger knew: record and announce it first.
          if ((await repair.repair(registry)) === "repaired") log(`registry ${registry.id}: recorded the current version a crash had left out of the ledger`);
          const current = (await ledger.registryState(registry.id))?.current;
          return current === undefined || parseSchedule(registry.source.rotation).next(current.createdAt) <= new Date();
        };
        for (const registry of config.registries.filter(isRotated)) {
          scheduler.add(`rotate:${registry.id}`, registry.source.rotation, async () => {
            if (!(await rotationDue(registry))) return;
            const result = await rotate(registry);
            log(`registry ${registry.id}: rotated to version ${result.versionId}${result.resumed ? " (finished an interrupted rotation)" : ""}`);
          }, atStart);
        }

        // The audit: discovery through each target, on the config's schedule through the function's handler.
        // No undeclared-consumer search here: that looks through AWS accounts.
        const audit = new AuditScanService({ registries: config.registries, consumers, targets, ledger, bus, clock: systemClock, clockSkewSeconds: config.settings.clockSkewSeconds });
        const auditScanHandler = createAuditScanHandler(async () => audit);
        if (consumers.some((c) => targets.get(c.target.kind)?.discoverEnvironments)) {
          scheduler.add("audit", config.settings.auditSchedule, async () => {
            await auditScanHandler(scheduled({}), lambdaContext("pullkeeper-audit-scan"));
            revokeSoon();
          }, atStart);
        }
        // Also at start: a crash between a promotion and its revocation is picked up here.
        if (config.registries.some(isRotated)) scheduler.add("revoke", config.settings.revokeSchedule, revokeNow, atStart);

        const refreshNow = async (registry: Registry, force: boolean) => {
          if (isRotated(registry)) return { outcome: "rotated", ...(await rotate(registry)) };
          return refresh({ registryIds: [registry.id], force });
        };

        const auditApi = () =>
          new AuditApi({
            registries: config.registries,
            consumers,
            ledger,
            dashboard: dashboardAssets,
            actions: {
              refresh: (r, o) => refreshNow(r, o.force),
              redeliver: (c) => service.propagate(c.registryId, { force: true, consumerIds: [c.id] }),
              propagate: (r, o) => service.propagate(r.id, { force: o.force }),
              // On demand the scan runs here and answers with its report (on AWS the function is invoked instead).
              scan: async (registryIds) => {
                const report = await audit.scan(registryIds ? { registryIds } : {});
                revokeSoon();
                return report;
              },
              rollback: (r) => rollback.rollback(r),
              restart: (c, environment) => restartThroughTarget(targets, c, environment),
            },
          });

        return {
          config,
          consumers,
          propagation: service,
          audit,
          scheduler,
          auditApi,
          api: createApiHandler(auditApi),
          deliver: (request, receive) => deliverHandler(sqsEvent(request, receive) as never, lambdaContext("pullkeeper-deliver")),
          onSecretChange: (envelope) => onSecretChange(envelope, lambdaContext("pullkeeper-on-secret-change")),
          revoke: () => revokeHandler(scheduled({}), lambdaContext("pullkeeper-revoke")),
          refreshNow,
        };
      };
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
          adminToken,
          api: (event, context) => now().api(event, context),
          health: () => ({ stateDir, registries: now().config.registries.length, served: registries.map((r) => r.url), schedules: Object.fromEntries([...now().scheduler.nextRuns()].map(([k, v]) => [k, v?.toISOString() ?? null])) }),
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

      return new EmbeddedRuntime({ adminTokenPath, server, vault, ledger, bus, queue, stop: [stopAll], current: now, reload });
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
