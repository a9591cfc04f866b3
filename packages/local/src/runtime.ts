import { DynamoLedger, DynamoRateLimiter, EcrTokenSource, HmacFingerprinter } from "@pullkeeper/aws";
import { deliveryTargets, rateLimits, readCheckedConfigFile, scheduledEvent } from "@pullkeeper/aws/lambda";
import {
  AuditApi,
  AuditScanService,
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
import { HtpasswdFile, RandomPasswords, RegistryV2Verifier } from "@pullkeeper/targets";
import type { Context } from "aws-lambda";
import { randomUUID } from "node:crypto";
import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { createApiHandler } from "../../../functions/api.js";
import { createAuditScanHandler } from "../../../functions/audit-scan.js";
import { createDeliverHandler } from "../../../functions/deliver.js";
import { createOnSecretChangeHandler } from "../../../functions/on-secret-change.js";
import { createReconcileHandler } from "../../../functions/reconcile.js";
import { createRefreshHandler, type RefreshEvent } from "../../../functions/refresh.js";
import { createRevokeHandler } from "../../../functions/revoke.js";
import { createRotateHandler } from "../../../functions/rotate.js";
import { InProcessBus } from "./bus/in-process-bus.js";
import { LocalDeliveryQueue } from "./queue/local-delivery-queue.js";
import { startEmbeddedDynamo } from "./dynamo/embedded-dynamo.js";
import { type RunningServer, startLocalServer } from "./http/server.js";
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
 * pullkeeper on one machine: the same functions (refresh, rotate, api) and the same core as on
 * AWS, with embedded stand-ins for the AWS services — dynalite for DynamoDB, an encrypted file
 * vault for Secrets Manager, an in-process bus and scheduler for EventBridge.
 */
export class EmbeddedRuntime {
  readonly config: PullkeeperConfig;
  readonly adminTokenPath: string;
  readonly server: RunningServer | undefined;
  readonly vault: LocalVault;
  readonly ledger: DynamoLedger;
  readonly bus: InProcessBus;
  readonly queue: LocalDeliveryQueue;
  readonly propagation: PropagationService;
  readonly audit: AuditScanService;
  /** The audit API over this runtime's state, as the HTTP server serves it. */
  readonly auditApi: () => AuditApi;
  readonly #stop: (() => Promise<void>)[];
  readonly #refreshNow: (registry: Registry, force: boolean) => Promise<unknown>;
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    config: PullkeeperConfig;
    adminTokenPath: string;
    server: RunningServer | undefined;
    vault: LocalVault;
    ledger: DynamoLedger;
    bus: InProcessBus;
    queue: LocalDeliveryQueue;
    propagation: PropagationService;
    audit: AuditScanService;
    auditApi: () => AuditApi;
    stop: (() => Promise<void>)[];
    refreshNow: (registry: Registry, force: boolean) => Promise<unknown>;
  }) {
    this.config = parts.config;
    this.adminTokenPath = parts.adminTokenPath;
    this.server = parts.server;
    this.vault = parts.vault;
    this.ledger = parts.ledger;
    this.bus = parts.bus;
    this.queue = parts.queue;
    this.propagation = parts.propagation;
    this.audit = parts.audit;
    this.auditApi = parts.auditApi;
    this.#stop = parts.stop;
    this.#refreshNow = parts.refreshNow;
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
    // A bad config fails here, before anything is created or written: the same check as `pullkeeper validate` and the deploy.
    const checked = readCheckedConfigFile(options.configPath, targets);
    const config = anchored(checked.config, options.configPath);
    const consumers = checked.consumers;
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
      const refreshHandler = createRefreshHandler(async () => ({
        config,
        service: new RefreshService({ ...adapters, tokens: new EcrTokenSource(), policy: { maxJitterSeconds: config.settings.maxJitterSeconds } }),
      }));
      // The credential's life after its rotation: repair after a crash, revocation once unused, rollback.
      const htpasswd = (registry: RotatedRegistry) => new HtpasswdFile(registry.source.file, { ...(options.htpasswdCost !== undefined && { cost: options.htpasswdCost }) });
      const repair = new LedgerRepair(adapters);
      const revocation = new RevocationService({
        ...adapters,
        registries: config.registries,
        consumers,
        targets,
        revoker: (registry) => (isRotated(registry) ? htpasswdRevoker(htpasswd(registry)) : undefined),
        repair,
        clockSkewSeconds: config.settings.clockSkewSeconds,
      });
      const rollback = new RollbackService({ ...adapters, newToken: randomUUID });
      const rotation = new RotationService({
        ...adapters,
        passwords: new RandomPasswords(),
        accounts: htpasswd,
        revocation,
        newToken: randomUUID,
        ...(options.afterRotationStep && { afterStep: options.afterRotationStep }),
        ...(options.afterRotationPromote && { afterPromote: options.afterRotationPromote }),
      });
      // Through the revoke function's handler, as its schedule calls it on AWS. Checks asked for
      // while one runs coalesce into one more run after it.
      const revokeHandler = createRevokeHandler(async () => revocation);
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
            await revokeHandler(scheduled({}), lambdaContext("pullkeeper-revoke")).catch((e: unknown) => log(`revocation check: ${(e as Error).message}`));
          } while (revokeAgain);
        })().finally(() => {
          revoking = undefined;
        });
        return revoking;
      };
      /** After deliveries and scans: soon, once, rather than once per delivery. */
      const revokeSoon = () => {
        if (!config.registries.some(isRotated) || revokeTimers.size > 0) return;
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

      // Propagation: the queue's workers call the delivery function's handler with an SQS-shaped event.
      // The handler is only called once the queue has work, by which time `service` exists.
      const deliverHandler = createDeliverHandler(async () => service);
      const queue = new LocalDeliveryQueue({
        concurrency: options.delivery?.concurrency ?? 8,
        maxAttempts: MAX_DELIVERY_ATTEMPTS,
        baseBackoffMs: options.delivery?.baseBackoffMs ?? 1_000,
        log,
        handle: async (request, attempt) => {
          const out = await deliverHandler(sqsEvent(request, attempt.number) as never, lambdaContext("pullkeeper-deliver"));
          revokeSoon();
          if (out.batchItemFailures.length > 0) throw new Error(`delivery to ${request.consumerId} failed this time; retrying`);
        },
      });
      stops.push(() => queue.stop());
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
      bus.subscribe({ source: ["pullkeeper"], "detail-type": ["Credential Rotated"] }, async (envelope) => {
        await onSecretChange(envelope, lambdaContext("pullkeeper-on-secret-change"));
      });
      const reconcile = createReconcileHandler(async () => service);

      const scheduler = new Scheduler({ log });
      if (consumers.length > 0) {
        // Also at start: a crash may have swallowed the event (or the queued deliveries) of a rotation.
        scheduler.add("reconcile", config.settings.reconcileSchedule, async () => void (await reconcile(scheduled({}), lambdaContext("pullkeeper-reconcile"))), { runAtStart: true });
      }
      const minted = config.registries.filter((r) => r.source.type === "ecr-token");
      if (minted.length > 0) {
        scheduler.add("refresh", config.settings.refreshSchedule, async () => void (await refresh({})), { runAtStart: true });
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
        }, { runAtStart: true });
      }
      stops.push(() => scheduler.stop());

      // The audit: discovery through each target, on the config's schedule through the function's handler.
      // No undeclared-consumer search here: that looks through AWS accounts.
      const audit = new AuditScanService({ registries: config.registries, consumers, targets, ledger, bus, clock: systemClock, clockSkewSeconds: config.settings.clockSkewSeconds });
      const auditScanHandler = createAuditScanHandler(async () => audit);
      if (consumers.some((c) => targets.get(c.target.kind)?.discoverEnvironments)) {
        scheduler.add("audit", config.settings.auditSchedule, async () => {
          await auditScanHandler(scheduled({}), lambdaContext("pullkeeper-audit-scan"));
          revokeSoon();
        }, { runAtStart: true });
      }
      // Also at start: a crash between a promotion and its revocation is picked up here.
      if (config.registries.some(isRotated)) scheduler.add("revoke", config.settings.revokeSchedule, revokeNow, { runAtStart: true });

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

      let server: RunningServer | undefined;
      if (options.serve !== false) {
        const api = createApiHandler(auditApi);
        server = await startLocalServer({
          port: options.port ?? DEFAULT_PORT,
          adminToken,
          api,
          health: () => ({ stateDir, registries: config.registries.length, served: registries.map((r) => r.url), schedules: Object.fromEntries([...scheduler.nextRuns()].map(([k, v]) => [k, v?.toISOString() ?? null])) }),
          // `pullkeeper secret put` while this runtime runs: written here, then announced as a Secrets Manager change.
          secrets: localSecretWrites(vault, (event) => onSecretChange(event, lambdaContext("pullkeeper-on-secret-change")), log),
        });
        stops.push(() => server?.close() ?? Promise.resolve());
        // Removed before the server closes: the CLI then stops looking for it there.
        stops.push(await writeRuntimeFile(stateDir, server));
      }
      if (options.schedule !== false) scheduler.start();

      return new EmbeddedRuntime({ config, adminTokenPath, server, vault, ledger, bus, queue, propagation: service, audit, auditApi, stop: [stopAll], refreshNow });
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  /** Refresh or rotate one registry now, as POST /v1/registries/{id}/refresh does. */
  refresh(registry: Registry, force = false): Promise<unknown> {
    return this.#refreshNow(registry, force);
  }

  /** Graceful: schedules stop, runs in flight finish, the bus drains, then stores close. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const stop of this.#stop) await stop();
    })();
    return this.#stopping;
  }
}
