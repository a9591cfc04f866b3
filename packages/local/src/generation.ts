import { DynamoRateLimiter, EcrTokenSource, HmacFingerprinter } from "@pullkeeper/aws";
import {
  auditApi as buildAuditApi,
  auditScanService,
  sourceRegistrySide,
  ledgerRepair,
  propagationActions,
  propagationService,
  rateLimits,
  refreshService,
  revocationService,
  rollbackService,
  rotationService,
  type ServiceAdapters,
} from "@pullkeeper/aws/lambda";
import type { AuditApi } from "@pullkeeper/api";
import {
  type AuditScanService,
  type Consumer,
  type DeliveryRequest,
  type DeliveryTarget,
  type PropagationService,
  isRotated,
  type PullkeeperConfig,
  restartThroughTarget,
  type Registry,
  type RotatedRegistry,
  type RotationStep,
  whenUnlocked,
  systemClock,
} from "@pullkeeper/core";
import { dashboardAssets } from "@pullkeeper/dashboard";
import { RegistryV2Verifier } from "@pullkeeper/registry";
import { createApiHandler } from "@pullkeeper/aws/lambda/handlers/api";
import { createAuditScanHandler } from "@pullkeeper/aws/lambda/handlers/audit-scan";
import { createDeliverHandler } from "@pullkeeper/aws/lambda/handlers/deliver";
import { createOnSecretChangeHandler } from "@pullkeeper/aws/lambda/handlers/on-secret-change";
import { createReconcileHandler } from "@pullkeeper/aws/lambda/handlers/reconcile";
import { createRefreshHandler, type RefreshEvent } from "@pullkeeper/aws/lambda/handlers/refresh";
import { createRevokeHandler } from "@pullkeeper/aws/lambda/handlers/revoke";
import { createRotateHandler } from "@pullkeeper/aws/lambda/handlers/rotate";
import type { EmbeddedStores } from "./embedded-stores.js";
import type { ApiHandler } from "./http/server.js";
import { lambdaContext, scheduled, sqsEvent } from "./lambda-events.js";
import type { LocalDeliveryQueue } from "./queue/local-delivery-queue.js";
import type { RevocationRuns } from "./revocation-runs.js";
import { scheduleJobs } from "./schedules.js";
import type { Scheduler } from "./scheduler/scheduler.js";

/**
 * Everything built from one reading of the config file: the services, the function handlers
 * bound to them, and the schedules. A reload builds the next one, then switches to it; a request,
 * delivery, event or scheduled run takes the generation that is current when it starts and keeps
 * it to its end, so none sees half of one config and half of another.
 */
export interface Generation {
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

/** The runtime's options that shape the services (the rest are the process's). */
export interface GenerationOptions {
  readonly htpasswdCost?: number;
  readonly afterRotationStep?: (step: RotationStep, token: string) => Promise<void> | void;
  readonly afterRotationPromote?: (token: string) => Promise<void> | void;
  readonly delivery?: { readonly concurrency?: number; readonly baseBackoffMs?: number; readonly timeoutMs?: number };
}

/** What every generation shares: the stores, the targets, the delivery queue and the revocation runs. */
export interface SharedParts {
  readonly stores: EmbeddedStores;
  readonly targets: ReadonlyMap<string, DeliveryTarget>;
  readonly queue: LocalDeliveryQueue;
  readonly revocations: RevocationRuns;
  readonly options: GenerationOptions;
  readonly log: (line: string) => void;
}

/** A builder of generations over the shared parts; `first`: the runtime's start, when the schedules also run at once. */
export function generationBuilder(shared: SharedParts): (config: PullkeeperConfig, consumers: readonly Consumer[], first: boolean) => Generation {
  const { stores, targets, queue, revocations, options, log } = shared;
  const { vault, ledger, bus, dynamo } = stores;
  const adapters: ServiceAdapters = { vault, ledger, bus, fingerprints: new HmacFingerprinter(stores.fingerprintKey), clock: systemClock, verifier: new RegistryV2Verifier() };
  // The credential's life after its rotation: repair after a crash, revocation once unused, rollback.
  const repair = ledgerRepair(adapters);
  const rollback = rollbackService(adapters);

  return (config, consumers, first) => {
    // One limiter for the targets' providers and the sources' APIs: a 429 from either pauses its bucket for both.
    const rateLimiter = new DynamoRateLimiter({ tableName: dynamo.tableName, client: dynamo.client, limits: rateLimits(config) });
    // pullkeeper's side of the registries it rotates (the runtime's bcrypt cost for the files it serves).
    const registrySide = sourceRegistrySide(adapters, { ...(options.htpasswdCost !== undefined && { cost: options.htpasswdCost }), limiter: rateLimiter });
    const refreshHandler = createRefreshHandler(async () => ({ config, service: refreshService({ adapters, config, tokens: new EcrTokenSource(), http: { limiter: rateLimiter } }) }));
    const revocation = revocationService({ adapters, config, consumers, targets, revoker: registrySide.revoker, repair });
    const rotation = rotationService({
      adapters,
      registrySide,
      revocation,
      hooks: {
        ...(options.afterRotationStep && { afterStep: options.afterRotationStep }),
        ...(options.afterRotationPromote && { afterPromote: options.afterRotationPromote }),
      },
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
      revocations.soon();
      return result;
    };
    const refresh = (detail: RefreshEvent["detail"]) => refreshHandler(scheduled(detail), lambdaContext("pullkeeper-refresh"));

    // The handler is only called once the queue has work, by which time `service` exists.
    const deliverHandler = createDeliverHandler(async () => service);
    const service: PropagationService = propagationService({
      adapters,
      config,
      consumers,
      targets,
      queue,
      rateLimiter,
      ...(options.delivery && { delivery: options.delivery }),
    });
    const onSecretChange = createOnSecretChangeHandler(async () => ({ config, service }));
    const reconcile = createReconcileHandler(async () => service);

    // The audit: discovery through each target, on the config's schedule through the function's handler.
    const audit = auditScanService({ adapters, config, consumers, targets });
    const auditScanHandler = createAuditScanHandler(async () => audit);

    const scheduler = scheduleJobs(
      { config, consumers, targets, rotation, repair, ledger, log, first },
      {
        reconcile: async () => void (await reconcile(scheduled({}), lambdaContext("pullkeeper-reconcile"))),
        refresh: async () => void (await refresh({})),
        rotate,
        auditScan: async () => {
          await auditScanHandler(scheduled({}), lambdaContext("pullkeeper-audit-scan"));
          revocations.soon();
        },
        revoke: revocations.now,
      },
    );

    const refreshNow = async (registry: Registry, force: boolean) => {
      if (isRotated(registry)) return { outcome: "rotated", ...(await rotate(registry)) };
      return refresh({ registryIds: [registry.id], force });
    };

    const auditApi = () =>
      buildAuditApi({
        config,
        consumers,
        ledger,
        dashboard: dashboardAssets,
        actions: {
          refresh: (r, o) => refreshNow(r, o.force),
          ...propagationActions(() => service),
          // On demand the scan runs here and answers with its report (on AWS the function is invoked instead).
          scan: async (registryIds) => {
            const report = await audit.scan(registryIds ? { registryIds } : {});
            revocations.soon();
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
}
