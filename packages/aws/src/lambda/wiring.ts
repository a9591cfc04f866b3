import { AuditApi, type DashboardAssets } from "@pullkeeper/api";
import {
  type AuditActions,
  AuditScanService,
  type Clock,
  type Consumer,
  type CredentialIssuer,
  type CredentialRevoker,
  type DeliveryQueue,
  type DeliveryTarget,
  type EnvironmentLedger,
  type EventBus,
  type Fingerprinter,
  type Ledger,
  LedgerRepair,
  PropagationService,
  type PullkeeperConfig,
  type RateLimiter,
  RefreshService,
  type Registry,
  type RegistryVerifier,
  RevocationService,
  RollbackService,
  type RotatedRegistry,
  RotationService,
  type RotationStep,
  type SourcePorts,
  sourceRuntime,
  type TokenSource,
  type UndeclaredConsumerSearch,
  type Vault,
} from "@pullkeeper/core";
import { FetchProviderHttp, HtpasswdFile, RandomPasswords } from "@pullkeeper/registry";
import { randomUUID } from "node:crypto";
import type { AwsCallerIdentityOptions } from "../gcp-subject-token.js";

/**
 * One wiring of the services for both runtimes: each builder takes a description of where it runs
 * and returns the service. The Lambda runtimes (*-runtime.ts) pass the AWS adapters (Secrets
 * Manager, DynamoDB, EventBridge, SQS); the embedded runtime (packages/local/src/generation.ts)
 * passes its stand-ins. Light on purpose: no target implementation is imported here (the targets
 * come in built, from deliveryTargets()), so the refresh and rotate functions can use it.
 */

/** The ports the services are built over. */
export interface ServiceAdapters {
  readonly vault: Vault;
  readonly ledger: Ledger & EnvironmentLedger;
  readonly bus: EventBus;
  readonly fingerprints: Fingerprinter;
  readonly clock: Clock;
  readonly verifier: RegistryVerifier;
}

/** Who receives the credential and through what: the config's consumers and the targets that deliver to (or discover) them. */
export interface ConsumerWiring {
  readonly config: PullkeeperConfig;
  readonly consumers: readonly Consumer[];
  readonly targets: ReadonlyMap<string, DeliveryTarget>;
}

/** pullkeeper's side of the registries it rotates: how each makes its next credential, and how a superseded one is revoked. */
export interface RegistrySide {
  readonly issuer: (registry: RotatedRegistry) => Promise<CredentialIssuer>;
  /** Undefined for a registry whose old credentials expire by themselves or live where this runtime cannot reach. */
  readonly revoker: (registry: Registry) => Promise<CredentialRevoker | undefined>;
}

/** How the sources' runtimes reach out: see sourceRegistrySide. */
export interface SourceOptions {
  /** bcrypt cost of self-hosted registries' password files (tests lower it). */
  readonly cost?: number;
  /** Which registries this runtime may revoke for (all by default). */
  readonly revokes?: (registry: Registry) => boolean;
  /** The shared limiter the providers' API calls go through, where the runtime has one. */
  readonly limiter?: Pick<RateLimiter, "acquire" | "pause">;
  /** A provider API call's time budget. */
  readonly timeoutMs?: number;
}

/**
 * Every rotated registry's side, whatever its source: the source module's runtime (loaded on first
 * use) over one set of ports — the registry's password file, the provider's API, the admin login
 * read from the vault.
 */
export function sourceRegistrySide(adapters: Pick<ServiceAdapters, "vault" | "clock">, options: SourceOptions = {}): RegistrySide {
  const ports: SourcePorts = {
    accounts: (file) => new HtpasswdFile(file, { ...(options.cost !== undefined && { cost: options.cost }) }),
    passwords: new RandomPasswords(),
    http: new FetchProviderHttp({ ...(options.limiter && { limiter: options.limiter }), ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }) }),
    adminCredential: async (secretId) => (await adapters.vault.read(secretId, { stage: "AWSCURRENT" })).credential,
    clock: adapters.clock,
  };
  return {
    issuer: async (registry) => {
      const issuer = (await sourceRuntime(registry))?.issuer?.(registry, ports);
      if (issuer === undefined) throw new Error(`registry ${registry.id}: a ${registry.source.type} source issues no credentials`);
      return issuer;
    },
    revoker: async (registry) => ((options.revokes?.(registry) ?? true) ? (await sourceRuntime(registry))?.revoker?.(registry, ports) : undefined),
  };
}

/**
 * Refresh of minted tokens: `tokens` mints ECR's; sources that mint through a provider's API
 * (Google's federation) get it over the shared limiter, with the function's own AWS identity to
 * prove who asks (`identity`, tests: the signer's region and credentials).
 */
export function refreshService(wiring: {
  readonly adapters: ServiceAdapters;
  readonly config: PullkeeperConfig;
  readonly tokens: TokenSource;
  readonly http?: Pick<SourceOptions, "limiter" | "timeoutMs">;
  readonly identity?: AwsCallerIdentityOptions;
}): RefreshService {
  const { adapters, config, tokens, http: options = {} } = wiring;
  return new RefreshService({
    ...adapters,
    tokens,
    http: new FetchProviderHttp({ ...(options.limiter && { limiter: options.limiter }), ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }) }),
    awsCallerIdentity: lazyCallerIdentity(wiring.identity),
    policy: { maxJitterSeconds: config.settings.maxJitterSeconds },
  });
}

/**
 * The function's own identity for federation, signed on first use: only gar-token asks for it, so
 * the signer and the SDK's credential chain are imported then, not at every function's cold start.
 */
function lazyCallerIdentity(options: AwsCallerIdentityOptions | undefined): (targetResource: string) => Promise<string> {
  let signer: Promise<(targetResource: string) => Promise<string>> | undefined;
  return async (targetResource) => {
    signer ??= import("../gcp-subject-token.js").then((m) => m.awsCallerIdentity(options));
    return (await signer)(targetResource);
  };
}

/** Closes a vault/ledger gap a crash left between promoting and recording. */
export function ledgerRepair(adapters: ServiceAdapters): LedgerRepair {
  return new LedgerRepair(adapters);
}

export function rollbackService(adapters: ServiceAdapters): RollbackService {
  return new RollbackService({ ...adapters, newToken: randomUUID });
}

/** Revocation of superseded credentials, weighing `consumers` (with `repair` first, where given). */
export function revocationService(wiring: ConsumerWiring & { readonly adapters: ServiceAdapters; readonly revoker: RegistrySide["revoker"]; readonly repair?: LedgerRepair }): RevocationService {
  const { adapters, config, consumers, targets, revoker, repair } = wiring;
  return new RevocationService({
    ...adapters,
    registries: config.registries,
    consumers,
    targets,
    revoker,
    ...(repair && { repair }),
    clockSkewSeconds: config.settings.clockSkewSeconds,
  });
}

/** Test seams of a rotation (the embedded runtime's options). */
export interface RotationHooks {
  readonly afterStep?: (step: RotationStep, token: string) => Promise<void> | void;
  readonly afterPromote?: (token: string) => Promise<void> | void;
}

/** Rotation of the rotated registries; `revocation` frees the idle user's slot when a registry says revoke first. */
export function rotationService(wiring: {
  readonly adapters: ServiceAdapters;
  readonly registrySide: RegistrySide;
  readonly revocation: Pick<RevocationService, "revoke">;
  readonly hooks?: RotationHooks;
}): RotationService {
  const { adapters, registrySide, revocation, hooks = {} } = wiring;
  return new RotationService({
    ...adapters,
    issuer: registrySide.issuer,
    revocation,
    revokes: async (registry) => (await registrySide.revoker(registry)) !== undefined,
    newToken: randomUUID,
    ...(hooks.afterStep && { afterStep: hooks.afterStep }),
    ...(hooks.afterPromote && { afterPromote: hooks.afterPromote }),
  });
}

/** A delivery's time budget and the first retry's backoff (tests lower them). */
export interface DeliveryOptions {
  readonly timeoutMs?: number;
  readonly baseBackoffMs?: number;
}

/** The propagation engine: plans into `queue`, delivers through the targets under `rateLimiter`. */
export function propagationService(
  wiring: ConsumerWiring & {
    readonly adapters: Pick<ServiceAdapters, "vault" | "ledger" | "bus" | "clock">;
    readonly queue: DeliveryQueue;
    readonly rateLimiter: RateLimiter;
    readonly delivery?: DeliveryOptions;
  },
): PropagationService {
  const { adapters, config, consumers, targets, queue, rateLimiter, delivery = {} } = wiring;
  return new PropagationService({
    ...adapters,
    registries: config.registries,
    consumers,
    targets,
    queue,
    rateLimiter,
    ...(delivery.timeoutMs !== undefined && { deliveryTimeoutMs: delivery.timeoutMs }),
    // The first retry's backoff, for the engine's retries as for the queue's.
    ...(delivery.baseBackoffMs !== undefined && { retry: { baseMs: delivery.baseBackoffMs } }),
  });
}

/** The audit scan: discovery through each target, verdicts into the ledger; `undeclared` also looks for consumers the config does not name. */
export function auditScanService(
  wiring: ConsumerWiring & { readonly adapters: Pick<ServiceAdapters, "ledger" | "bus" | "clock">; readonly undeclared?: UndeclaredConsumerSearch },
): AuditScanService {
  const { adapters, config, consumers, targets, undeclared } = wiring;
  return new AuditScanService({
    registries: config.registries,
    consumers,
    targets,
    ledger: adapters.ledger,
    bus: adapters.bus,
    clock: adapters.clock,
    clockSkewSeconds: config.settings.clockSkewSeconds,
    ...(undeclared && { undeclared }),
  });
}

/** The audit API's propagate and redeliver, through a propagation engine (on AWS the planners', built on first use). */
export function propagationActions(engine: () => PropagationService | Promise<PropagationService>): Required<Pick<AuditActions, "propagate" | "redeliver">> {
  return {
    propagate: async (registry, { force }) => (await engine()).propagate(registry.id, { force }),
    redeliver: async (consumer) => (await engine()).propagate(consumer.registryId, { force: true, consumerIds: [consumer.id] }),
  };
}

/** The audit API over the ledger, with what its actions set in motion where it runs. */
export function auditApi(wiring: {
  readonly config: PullkeeperConfig;
  readonly consumers: readonly Consumer[];
  readonly ledger: Ledger & EnvironmentLedger;
  readonly actions: AuditActions;
  readonly dashboard?: DashboardAssets;
}): AuditApi {
  const { config, consumers, ledger, actions, dashboard } = wiring;
  return new AuditApi({ registries: config.registries, consumers, ledger, actions, ...(dashboard && { dashboard }) });
}
