import type { FunctionTracer } from "./observability.js";
import { consumersFromConfig, type Credential, DeliveryError, type DeliveryTarget, type PropagationService, type TargetDependencies } from "@pullkeeper/core";
import { TARGET_MODULES } from "../target-modules.js";
import { awsAdapters } from "./adapters.js";
import { CONSUMER_SCHEMAS } from "./consumer-schemas.js";
import { readConfigFile } from "./config-file.js";
import { observability } from "./observability.js";
import { awsDeliveryQueue } from "./planner-runtime.js";
import { propagationService } from "./wiring.js";

export type CredentialReader = (secretId: string) => Promise<Credential>;

export interface DeliveryTargetsOptions {
  /** Reads the secrets targets authenticate with (GitHub and Gitpod tokens, webhook keys). */
  readonly readCredential?: CredentialReader;
  readonly extra?: readonly DeliveryTarget[];
  /** A registry's secret (ARN or name), so AWS discovery can default to its region. */
  readonly registrySecret?: (registryId: string) => string | undefined;
  /** Only these kinds (the config's: configuredKinds), so a cold start loads no client of a kind nobody uses; default every kind. */
  readonly kinds?: ReadonlySet<string>;
}

/** The target kinds the config's consumers use. */
export function configuredKinds(config: { readonly consumers: readonly { readonly target: { readonly kind: string } }[] }): ReadonlySet<string> {
  return new Set(config.consumers.map((c) => c.target.kind));
}

const noReader: CredentialReader = async (secretId) => {
  throw new DeliveryError("token_unavailable", `no secret reader is configured to read ${secretId}`, { retryable: false });
};

/**
 * Every delivery target this deployment knows: each registered module's (TARGET_MODULES), loaded
 * with its clients, plus `extra`. Without a reader the targets still validate config.
 */
export async function deliveryTargets(options: DeliveryTargetsOptions = {}): Promise<Map<string, DeliveryTarget>> {
  // One object for all: the GitHub kinds share one client per dependencies.
  const dependencies: TargetDependencies = {
    readCredential: options.readCredential ?? noReader,
    ...(options.registrySecret && { registrySecret: options.registrySecret }),
  };
  const modules = options.kinds ? TARGET_MODULES.filter((m) => options.kinds?.has(m.kind)) : TARGET_MODULES;
  const factories = await Promise.all(modules.map(async (m) => ({ kind: m.kind, create: await m.load() })));
  const targets = factories.map(({ kind, create }) => {
    const target = create(dependencies);
    if (target.kind !== kind) throw new Error(`target module ${kind} built a target of kind ${target.kind}`);
    return target;
  });
  return new Map([...targets, ...(options.extra ?? [])].map((t) => [t.kind, t]));
}

let tracer: FunctionTracer | undefined;

/** The propagation engine on AWS: SQS queue, DynamoDB ledger and shared rate limiter, Secrets Manager. */
export async function propagationFromEnvironment(): Promise<PropagationService> {
  tracer ??= observability("pullkeeper-propagation").tracer;
  const config = readConfigFile();
  const adapters = await awsAdapters(tracer);
  const targets = await deliveryTargets({ readCredential: async (id) => (await adapters.vault.read(id, { stage: "AWSCURRENT" })).credential, kinds: configuredKinds(config) });
  const consumers = consumersFromConfig(config, CONSUMER_SCHEMAS);
  return propagationService({ adapters, config, consumers, targets, ...awsDeliveryQueue(tracer, config) });
}
