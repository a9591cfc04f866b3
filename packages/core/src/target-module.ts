import type { DeliveryTarget } from "./delivery.js";
import type { EnvironmentKind } from "./environments.js";

/**
 * What a deployment knows about a target kind without loading its implementation (the SDK,
 * Octokit or Kubernetes client behind it): the stacks grant permissions from it and the
 * planners validate consumers with it. Modelled on External Secrets Operator's providers: one
 * folder per kind exports one descriptor, one registry line lists it, and every list of kinds
 * elsewhere is derived from the registry.
 */
export interface TargetModule {
  readonly kind: string;
  /** The same schema the target validates with; the registry test checks they are one object. */
  readonly schema: DeliveryTarget["schema"];
  /** The rate-limit key its writes count against by default ("github", "aws:codebuild"). */
  readonly provider: string;
  readonly capabilities: {
    /** It lists the environments that loaded the credential (the audit's discovery). */
    readonly discoverEnvironments: boolean;
    /** It can restart one of them on request (`restart: true` on the consumer). */
    readonly restart: boolean;
  };
  /** The kind of environment its discovery reports, where it discovers any. */
  readonly environmentKind?: EnvironmentKind;
  /**
   * The secrets the target reads at send time (tokens, signing keys), from the consumer's raw
   * `target` block: the stacks grant the functions exactly these. Unvalidated input, so a
   * missing or mistyped field yields nothing rather than throwing.
   */
  secretsRead(target: Readonly<Record<string, unknown>>): string[];
}

