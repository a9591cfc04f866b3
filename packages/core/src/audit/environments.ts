import type { Consumer } from "../model/consumer.js";

/**
 * Environments: the running things that loaded a consumer's credential when they started and
 * keep it until they restart (an ECS task, a CodeBuild build, a codespace, a Gitpod environment,
 * a Kubernetes pod). Targets find them; the audit judges each one against the ledger.
 */

/**
 * What an environment is (an ECS task, a codespace, a Kubernetes pod…): each target module names the
 * kind its discovery reports (TargetModule.environmentKind), so a new kind is no line here.
 */
export type EnvironmentKind = string;

/** One running environment as its provider reports it. */
export interface DiscoveredEnvironment {
  /** Unique within the consumer and stable across scans: task ARN, build ID, codespace name, Gitpod environment ID, namespace/pod. */
  readonly externalId: string;
  readonly kind: EnvironmentKind;
  /** What a person calls it: the task's short ID, the codespace's display name, the pod name. */
  readonly name: string;
  /** When it started, and so loaded the credential it holds (a codespace's last_used_at, a pod's status.startTime…). */
  readonly startedAt: Date;
  /** The provider's own word for its state: RUNNING, IN_PROGRESS, Available, ENVIRONMENT_PHASE_RUNNING, Running. */
  readonly status: string;
  /** Where a person finds it (console or web URL), when the provider gives one. */
  readonly url?: string;
  /** Provider facts worth showing next to the verdict, e.g. a Gitpod environment's secret session status. Never a value. */
  readonly detail?: string;
}

/** What restarting an environment did, for people: "stopped codespace x", "rolled service y". */
export interface RestartOutcome {
  readonly detail: string;
}

/**
 * What a delivery target may add for the audit. Discovery is read-only; a failure is thrown as a
 * PullkeeperError (DeliveryError codes: unauthorized, not_found, throttled, unavailable…) and recorded
 * against the consumer by the audit, never swallowed.
 */
export interface EnvironmentDiscovery {
  /** Every running environment of this consumer (all pages). */
  discoverEnvironments(consumer: Consumer): Promise<readonly DiscoveredEnvironment[]>;
  /**
   * Stops or rolls one environment so it starts again with the current credential (stop a
   * codespace, force a new deployment of the task's ECS service, delete a controller-owned pod).
   * Absent where the kind has no safe restart (a CodeBuild build).
   */
  restartEnvironment?(consumer: Consumer, environment: Pick<DiscoveredEnvironment, "externalId" | "kind" | "name">): Promise<RestartOutcome>;
}

/**
 * A consumer nobody declared: an AWS resource that references a tracked secret but is not in
 * the config. It loads the credential like a declared one and is left stale by every rotation.
 */
export interface UndeclaredConsumer {
  readonly registryId: string;
  /** The target kind a consumer of this resource would be declared with (each kind's UndeclaredResourceSearch). */
  readonly kind: string;
  /** The resource's ARN (a task definition's is the latest ACTIVE revision's). */
  readonly resource: string;
  readonly name: string;
  readonly region: string;
  /** Where the reference was found, e.g. "environment.registryCredential.credential" or "containerDefinitions[web].repositoryCredentials.credentialsParameter". */
  readonly foundIn: string;
  /** The secret as the resource names it (ARN, partial ARN or name). */
  readonly secretReference: string;
}

/** A tracked secret the undeclared-consumer search looks for. */
export interface TrackedSecret {
  readonly registryId: string;
  /** As the config names it: ARN or name. */
  readonly secret: string;
}
